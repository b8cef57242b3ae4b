"""The committed knowledge-base PDF is what scripts/make_rag_pdf.py makes from its source."""
import subprocess
import sys

from tests.conftest import REPO


def test_committed_pdf_matches_its_source(tmp_path):
    out = tmp_path / "document.pdf"
    subprocess.run([sys.executable, "scripts/make_rag_pdf.py", "--out", str(out)], cwd=REPO, check=True,
                   capture_output=True)
    assert out.read_bytes() == (REPO / "data/rag/document.pdf").read_bytes()  # the output is reproducible


def test_a_part_too_long_for_its_page_is_refused(tmp_path):
    source = tmp_path / "long.md"
    source.write_text("# Titre\n\n" + "\n\n".join(["Un paragraphe assez long pour remplir la page. " * 8] * 20))
    result = subprocess.run([sys.executable, "scripts/make_rag_pdf.py", "--source", str(source), "--out",
                             str(tmp_path / "x.pdf")], cwd=REPO, capture_output=True, text=True)
    assert result.returncode != 0 and "part 1 of the source does not fit on one page" in result.stderr
