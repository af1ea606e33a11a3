"""`nodes = 2` through the real `mlform` command line: two ranks of one training job reach each
other through the variables a distributed launch gives them (a standard-library TCP exchange)."""

from __future__ import annotations

from pathlib import Path

from e2e_cli import project


def test_two_ranks_reach_each_other(tmp_path: Path) -> None:
    with project("ranks", tmp_path) as p:
        r = p.ok("apply", "-auto-approve")
        # Each rank's output streams live, prefixed by the job's address and the rank.
        assert "training_job.pair: [rank 0] rank 0 heard from [1]" in r.out
        assert "training_job.pair: [rank 1] rank 1 got {'world': 2}" in r.out
        assert "training_job.pair: [rank 0] rank 0/2 local_rank=0 master=127.0.0.1:" in r.out
        assert "training_job.pair: [rank 1] rank 1/2 local_rank=1 master=127.0.0.1:" in r.out
        job = p.resource("training_job.pair")
        assert job["status"] == "succeeded"
        assert job["metrics"] == {"peers": 1, "world_size": 2}
        assert (Path(job["model"]) / "peers.json").read_text() == "[1]"
        logs = p.ok("logs", "training_job.pair").out
        assert "rank 0 heard from [1]" in logs and "rank 1 got" in logs
        plan, r = p.plan()
        assert r.code == 0, r.explain()
