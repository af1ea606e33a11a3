"""The `mlform-runtime` command: `run`, `serve`, and `status` / `cancel` for an output location.

Each subcommand maps its flags to one call (`job.run_job`, `serve.serve`); what they mean is in
docs/runtime.md.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from mlform_runtime import EXIT_ERROR, EXIT_OK, EXIT_USAGE, __version__
from mlform_runtime.envs import cache_dir
from mlform_runtime.report import CANCEL, RESULT, STATUS
from mlform_runtime.spec import JOB, SERVER, Spec, SpecError, parse_spec_text
from mlform_runtime.stores import StoreError, open_location, read_uri

__all__ = ["main"]


def _load(uri: str, kind: str) -> Spec:
    try:
        text = read_uri(uri).decode("utf-8")
    except UnicodeDecodeError as e:
        raise SpecError([f"(document): not UTF-8 text ({e})"]) from e
    return parse_spec_text(text, kind)


def _detach(args: argparse.Namespace, spec: Spec) -> int:
    """Start this same command again in a new session, in the background; print its pid."""
    cache = Path(args.cache) if args.cache else cache_dir()
    log = Path(args.detach_log) if args.detach_log else cache / "detached" / f"{spec.run_id}.out"
    log.parent.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, "-m", "mlform_runtime", args.command, args.spec, "--quiet"]
    for flag in ("cache", "work_dir"):
        value = getattr(args, flag, None)
        if value:
            argv += [f"--{flag.replace('_', '-')}", str(value)]
    if getattr(args, "keep_work", False):
        argv.append("--keep-work")
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
        )
    print(proc.pid, flush=True)
    return EXIT_OK


def _cmd_run(args: argparse.Namespace, kind: str) -> int:
    try:
        spec = _load(args.spec, kind)
    except SpecError as e:
        sys.stderr.write(e.render(args.spec) + "\n")
        return EXIT_USAGE
    except StoreError as e:
        sys.stderr.write(f"mlform-runtime: cannot read the spec: {e}\n")
        return EXIT_ERROR
    if args.detach:
        return _detach(args, spec)
    cache = Path(args.cache).expanduser() if args.cache else None
    if kind == JOB:
        from mlform_runtime.job import Options, run_job

        work = Path(args.work_dir).expanduser() if args.work_dir else None
        return run_job(
            spec,
            Options(cache=cache, work_root=work, echo=not args.quiet, keep_work=args.keep_work),
        )
    from mlform_runtime.serve import serve

    return serve(spec, cache=cache, echo=not args.quiet)


def _cmd_status(args: argparse.Namespace) -> int:
    try:
        out = open_location(args.output)
        doc = {
            "status": out.read_json(STATUS),
            "result": out.read_json(RESULT),
            "cancel_requested": out.exists(CANCEL),
        }
    except StoreError as e:
        sys.stderr.write(f"mlform-runtime: {e}\n")
        return EXIT_ERROR
    print(json.dumps(doc, indent=2, sort_keys=True))
    return EXIT_OK


def _cmd_cancel(args: argparse.Namespace) -> int:
    try:
        open_location(args.output).write_bytes(CANCEL, (args.reason + "\n").encode())
    except (StoreError, OSError) as e:
        sys.stderr.write(f"mlform-runtime: cannot write the cancel object: {e}\n")
        return EXIT_ERROR
    return EXIT_OK


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="mlform-runtime",
        description="Run an mlform training job or model server from its spec (docs/runtime.md).",
    )
    ap.add_argument("--version", action="version", version=f"mlform-runtime {__version__}")
    sub = ap.add_subparsers(dest="command", required=True)
    for name, helptext in (("run", "run a training job"), ("serve", "run a model server")):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("spec", help="the spec's URI: a path, file://, https:// (presigned)")
        p.add_argument(
            "--detach",
            action="store_true",
            help="start in the background (new session) and print its pid",
        )
        p.add_argument(
            "--cache",
            help="the worker cache (default $MLFORM_RUNTIME_CACHE or ~/.cache/mlform-runtime)",
        )
        p.add_argument(
            "--quiet",
            action="store_true",
            help="do not echo the log on stdout (it still goes to log.txt)",
        )
        p.add_argument(
            "--detach-log",
            help="where a detached runtime's own stdout and stderr "
            "go (default <cache>/detached/<run_id>.out)",
        )
        if name == "run":
            p.add_argument(
                "--work-dir",
                help="where runs' work folders go (default $MLFORM_RUNTIME_WORK or <cache>/work)",
            )
            p.add_argument(
                "--keep-work", action="store_true", help="keep the work folder after a success"
            )
    p = sub.add_parser("status", help="print the status and result at an output location")
    p.add_argument("output", help="the output location's URI")
    p = sub.add_parser("cancel", help="ask the runtime at an output location to stop")
    p.add_argument("output", help="the output location's URI")
    p.add_argument("--reason", default="cancel requested")
    return ap


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command in ("run", "serve"):
        return _cmd_run(args, JOB if args.command == "run" else SERVER)
    if args.command == "status":
        return _cmd_status(args)
    return _cmd_cancel(args)


if __name__ == "__main__":
    sys.exit(main())
