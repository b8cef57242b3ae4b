"""Stage report: one self-contained HTML page (reports/index.html) and its Markdown twin (reports/README.md)."""
import argparse
from pathlib import Path

from dllab.cli import run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reports", default="reports", help="folder holding every stage's metrics and figures")
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--html", default="reports/index.html")
    parser.add_argument("--markdown", default="reports/README.md")
    args = parser.parse_args()

    from dllab.files import write_text
    from dllab.params import load, read_yaml
    from dllab.report.baseline import Baseline
    from dllab.report.build import build
    from dllab.report.config import ReportParams
    from dllab.report.document import to_html, to_markdown
    from dllab.runtime import machine_description

    rev = load(args.params, ReportParams).lm_baseline
    raw = read_yaml(args.params)  # the whole file: the report shows every section
    doc = build(Path(args.reports), raw, machine_description(), baseline=Baseline(rev) if rev else None,
                source=args.params)
    write_text(args.html, to_html(doc))
    write_text(args.markdown, to_markdown(doc, relative_to=Path(args.markdown).parent))
    print(f"wrote {args.html} and {args.markdown}")


if __name__ == "__main__":
    run(main)
