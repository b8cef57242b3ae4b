"""The report's own params (it also shows every section of params.yaml)."""
import re

from dllab.params import Rule

COMMIT = re.compile(r"[0-9a-f]{40}")


def commit_or_empty(value):
    # Only a full hash: a commit's files never change, so the report stays a function of its params,
    # whereas a branch name or HEAD would silently mean other files tomorrow.
    if not isinstance(value, str) or (value and not COMMIT.fullmatch(value)):
        raise ValueError
    return value


SPEC = {
    # The commit whose language models this run is compared with (see baseline.py), or "" for none.
    "lm_baseline": Rule(commit_or_empty, '"" or a full commit hash (40 hex digits): '
                                         "-S report.lm_baseline=$(git rev-parse HEAD)"),
}
