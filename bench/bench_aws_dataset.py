"""A no-change plan of a 10,000-object `s3://` dataset against the stand-in AWS.

    .venv/bin/python bench/bench_aws_dataset.py [--objects 10000] [--runs 3]

Starts the stand-in (moto's server on loopback), fills a versioned bucket with small objects,
applies a configuration whose dataset lists it, then times `mlform plan` (a process, as a user
runs it) with nothing changed: the listing (ListObjectVersions, a thousand keys a page) and its
digest are the work. The issue asks for under 3 s.

Measured on the 2-core development machine (moto 5.2.6): median 12.9 s for 10,000 objects,
not under 3 s. The time is moto's: each ListObjectVersions call scans every key of the bucket
(about 1.2 s a page at 10,000 objects) and serializing a listing costs about 0.25 ms per object
(ListObjectsV2) or 0.4 ms (ListObjectVersions), so even one page of everything takes 2.4 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchenv import clean_env, compile_sources  # noqa: E402

CONFIG = """
provider "aws" {{
  region = "us-east-1"
  artifacts {{ bucket = "{art}" }}
}}
resource "dataset" "d" {{ source = "s3://{src}/data" }}
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--objects", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=3)
    opts = ap.parse_args()

    import boto3
    from mlform_aws.standin import StandIn

    compile_sources()
    standin = StandIn().start()
    try:
        os.environ.update(standin.env())
        os.environ["AWS_CONFIG_FILE"] = os.devnull
        os.environ.pop("AWS_PROFILE", None)
        env = clean_env()
        s3 = boto3.client("s3", endpoint_url=standin.endpoint, region_name=standin.region)
        src, art = "bench-source", "bench-artifacts"
        for b in (src, art):
            s3.create_bucket(Bucket=b)
        s3.put_bucket_versioning(Bucket=src, VersioningConfiguration={"Status": "Enabled"})
        started = time.monotonic()
        with ThreadPoolExecutor(8) as pool:
            list(
                pool.map(
                    lambda i: s3.put_object(Bucket=src, Key=f"data/{i:06d}.bin", Body=str(i)),
                    range(opts.objects),
                )
            )
        print(
            f"filled s3://{src}/data with {opts.objects} objects in {time.monotonic() - started:.1f}s"
        )
        with tempfile.TemporaryDirectory() as tmp:
            (Path(tmp) / "main.mlf.hcl").write_text(CONFIG.format(src=src, art=art))

            def mlform(*args: str) -> float:
                t = time.monotonic()
                subprocess.run(
                    [sys.executable, "-m", "mlform.cli.main", *args],
                    cwd=tmp,
                    env={**env, "MLFORM_IN_AUTOMATION": "1", "NO_COLOR": "1"},
                    check=True,
                    capture_output=True,
                )
                return time.monotonic() - t

            print(f"apply: {mlform('apply', '-auto-approve'):.2f}s")
            times = [mlform("plan", "-detailed-exitcode") for _ in range(opts.runs)]
        print(
            f"no-change plan of {opts.objects} objects: median {statistics.median(times):.2f}s "
            f"(runs: {', '.join(f'{t:.2f}' for t in times)}); target < 3 s"
        )
    finally:
        standin.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
