"""What every stage and command-line script shares: logging, and one-line errors for user mistakes."""
from __future__ import annotations

import logging
import sys
from typing import Callable

from dllab.errors import UserError


def run(main: Callable[[], None]) -> None:
    """Run a stage's ``main``; a UserError prints one line and exits with status 2."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    try:
        main()
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("interrupted; no output was written", file=sys.stderr)
        sys.exit(130)
