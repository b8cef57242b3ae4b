"""Render scripts/rag_document.md into data/rag/document.pdf, the knowledge base's PDF (committed).

The source is a small Markdown subset: '#', '##', '###' headings, '- ' bullet lists, paragraphs, and
'<!-- page -->' for a page break. Each part must fit on its page, so that the page numbers quoted in
data/eval/questions.yaml stay true; the script stops if one overflows. The output is byte-for-byte
reproducible (fixed creation date). Needs the DejaVu fonts (Debian fonts-dejavu-core).

    python scripts/make_rag_pdf.py [--source scripts/rag_document.md] [--out data/rag/document.pdf]
"""
import argparse
import datetime
import sys
from pathlib import Path

from fpdf import FPDF

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
PAGE_BREAK = "<!-- page -->"
HEADING_SIZES = {"#": 18, "##": 14, "###": 12}
BODY_SIZE = 11
LINE_HEIGHT = 5.6  # mm, for 11 pt text


class Document(FPDF):
    def footer(self):
        self.set_y(-15)
        self.set_font("DejaVu", size=9)
        self.cell(0, 10, f"— {self.page_no()} —", align="C")


def render(source: str, out: Path) -> int:
    pdf = Document(format="A4")
    pdf.set_creation_date(datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc))
    pdf.set_title("La tarte aux pommes : recette classique et variantes")
    pdf.add_font("DejaVu", "", str(FONT_DIR / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(FONT_DIR / "DejaVuSans-Bold.ttf"))
    pdf.set_margins(20, 18, 20)
    pdf.set_auto_page_break(True, margin=20)
    for number, part in enumerate(source.split(PAGE_BREAK), start=1):
        pdf.add_page()
        for block in filter(None, (b.strip() for b in part.split("\n\n"))):
            write_block(pdf, block)
        if pdf.page_no() != number:
            sys.exit(f"error: part {number} of the source does not fit on one page; shorten it or split it")
    pdf.output(str(out))
    return pdf.page_no()


def write_block(pdf: FPDF, block: str) -> None:
    for line in block.split("\n"):
        marks, _, title = line.partition(" ")
        if marks in HEADING_SIZES:
            pdf.set_font("DejaVu", "B", HEADING_SIZES[marks])
            pdf.ln(2)
            pdf.multi_cell(0, HEADING_SIZES[marks] * 0.5, title, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(1)
        elif line.startswith("- "):
            pdf.set_font("DejaVu", size=BODY_SIZE)
            pdf.set_x(pdf.l_margin + 5)
            pdf.multi_cell(0, LINE_HEIGHT, "• " + line[2:], new_x="LMARGIN", new_y="NEXT")
        else:
            pdf.set_font("DejaVu", size=BODY_SIZE)
            pdf.multi_cell(0, LINE_HEIGHT, line, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2.5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", default="scripts/rag_document.md")
    parser.add_argument("--out", default="data/rag/document.pdf")
    args = parser.parse_args()
    pages = render(Path(args.source).read_text(encoding="utf-8"), Path(args.out))
    print(f"{args.out}: {pages} pages")


if __name__ == "__main__":
    main()
