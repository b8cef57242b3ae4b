"""What every stage and command-line script shares: logging, one-line errors for user mistakes,
and, when asked with ``--record PATH``, a record of the stage's wall time, peak memory and the timings it
measured.

Timings vary from run to run, so they never go into a stage's artifacts (models, histories, metrics of
quality): they go to this record, which dvc.yaml declares as the stage's own metrics file
(``reports/pipeline/<stage>.json``) and which only the report reads.
"""
from __future__ import annotations

import logging
import os
import resource
import sys
import time
from datetime import datetime, timezone
from typing import Callable

from dllab.errors import UserError

RECORD_FLAG = "--record"
_timings: dict = {}
_launch_argv: list[str] = []


def run(main: Callable[[], None]) -> None:
    """Run a stage's ``main``; a UserError prints one line and exits with status 2.

    ``--record PATH`` (taken out of the arguments before ``main`` parses them) writes the stage's record
    to PATH once ``main`` has succeeded; without it nothing is recorded (smoke runs, tests, users).
    """
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    _launch_argv[:] = sys.argv
    record_path = _pop_record_path(sys.argv)
    try:
        import psutil

        started = psutil.Process().create_time()  # includes interpreter start and imports
    except ImportError:
        started = time.time()
    try:
        main()
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("interrupted; no output was written", file=sys.stderr)
        sys.exit(130)
    # Under torchrun (dllab/distributed.py) rank 0 alone writes the record.
    if record_path and os.environ.get("RANK", "0") == "0":
        write_record(record_path, time.time() - started)


def launch_argv() -> list[str]:
    """The script and its arguments as given, ``--record`` included (to start the same stage again)."""
    return list(_launch_argv or sys.argv)


def record_timing(**values) -> None:
    """Add measured times or speeds to this stage's record (never to its artifacts: they would vary)."""
    _timings.update(values)


def _pop_record_path(argv: list[str]) -> str | None:
    if RECORD_FLAG not in argv:
        return None
    at = argv.index(RECORD_FLAG)
    if at + 1 >= len(argv):
        print(f"error: {RECORD_FLAG} needs a path", file=sys.stderr)
        sys.exit(2)
    path = argv[at + 1]
    del argv[at:at + 2]
    return path


def peak_memory_mb() -> float:
    """Peak resident memory of this process and of the children it waited for (Linux reports KiB)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return round(max(own, children) / 1024, 1)


def write_record(path: str, seconds: float) -> None:
    from pathlib import Path

    from dllab.files import write_json

    write_json(path, {
        "stage": Path(path).stem,
        "seconds": round(seconds, 2),
        "peak_memory_mb": peak_memory_mb(),
        "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        **_timings,
    })


def dry_run_paths(dry_run: bool, label: str, **paths: tuple[str | None, str]) -> dict:
    """Where a training script writes: each path given on the command line, else its default, except that a
    smoke run (``--dry-run``) never writes over the tracked outputs: its unnamed paths go to a fresh
    temporary folder (kept, and printed, so the smoke output can be looked at)."""
    import tempfile
    from pathlib import Path

    folder = None
    chosen = {}
    for name, (given, default) in paths.items():
        if given is not None or not dry_run:
            chosen[name] = Path(given if given is not None else default)
            continue
        if folder is None:
            folder = Path(tempfile.mkdtemp(prefix=f"dllab-{label}-dry-run-"))
            logging.getLogger("cli").info("dry run: writing to %s", folder)
        chosen[name] = folder / Path(default).name
    return chosen
