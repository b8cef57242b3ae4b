"""What every stage and command-line script shares: logging, one-line errors for user mistakes,
and a record of each stage's wall time and peak memory for the pipeline report."""
from __future__ import annotations

import logging
import os
import resource
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from dllab.errors import UserError

# Where stages record how long they ran and how much memory they took (read by the report stage).
STAGE_RECORDS = Path(os.environ.get("DLLAB_STAGE_RECORDS", "reports/pipeline"))


def run(main: Callable[[], None]) -> None:
    """Run a stage's ``main``; a UserError prints one line and exits with status 2."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S")
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
    if Path(sys.argv[0]).parent.name == "stages":
        record_stage(Path(sys.argv[0]).stem, time.time() - started)


def peak_memory_mb() -> float:
    """Peak resident memory of this process and of the children it waited for (Linux reports KiB)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return round(max(own, children) / 1024, 1)


def record_stage(stage: str, seconds: float) -> None:
    from dllab.files import write_json

    write_json(STAGE_RECORDS / f"{stage}.json", {
        "stage": stage,
        "seconds": round(seconds, 2),
        "peak_memory_mb": peak_memory_mb(),
        "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "argv": sys.argv[1:],
    })
