"""The report's own params (it also shows every section of params.yaml)."""
import re
from typing import ClassVar

from dllab.params import Section, checked

COMMIT = re.compile(r"[0-9a-f]{40}")


def commit_or_empty(value: str) -> str:
    # Only a full hash: a commit's files never change, so the report stays a function of its params,
    # whereas a branch name or HEAD would silently mean other files tomorrow.
    if value and not COMMIT.fullmatch(value):
        raise ValueError("not a full commit hash")
    return value


class ReportParams(Section):
    section: ClassVar[str] = "report"

    # The commit whose language models this run is compared with (see baseline.py), or "" for none.
    lm_baseline: checked(commit_or_empty, '"" or a full commit hash (40 hex digits): '
                                          "-S report.lm_baseline=$(git rev-parse HEAD)") = ""
