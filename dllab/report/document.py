"""A tiny document model rendered twice: a self-contained HTML page (a Jinja2 template) and Markdown for
code hosts.

Content is written once as blocks; every string is escaped on the way out (Jinja2's autoescape for the page),
so text from metrics, documents or model answers can never become markup.
"""
from __future__ import annotations

import base64
import functools
import html
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from markupsafe import Markup


@dataclass
class Heading:
    text: str
    level: int = 2
    id: str = ""  # a stable anchor (the page links to /report#mnist); by default one made from the text

    @property
    def anchor(self) -> str:
        return self.id or _anchor(self.text)


@dataclass
class Paragraph:
    text: str


@dataclass
class Table:
    headers: list[str]
    rows: list[list]
    caption: str = ""


@dataclass
class Figure:
    path: Path
    caption: str


@dataclass
class Preformatted:
    text: str


@dataclass
class Audio:
    path: Path  # a WAV file: linked from the Markdown, embedded in the page as Ogg/Opus (a tenth of the size)
    caption: str


@dataclass(frozen=True)
class Mark:
    """A target's verdict, shown as words (not only as a colour): met, missed, or not measured."""
    met: bool | None
    words: str = ""  # instead of « atteint », « manqué », « non mesuré »

    @property
    def text(self) -> str:
        symbol, words = {True: ("✓", "atteint"), False: ("✗", "manqué"), None: ("–", "non mesuré")}[self.met]
        return f"{symbol} {self.words or words}"

    @property
    def css(self) -> str:
        return {True: "met", False: "missed", None: "unmeasured"}[self.met]


@dataclass(frozen=True)
class Link:
    text: str
    href: str  # a fragment of this document (#mnist) or a relative path


@dataclass
class Bullets:
    """A list whose items are runs of inline parts: text, Mark or Link."""
    items: list[list]


@dataclass
class Details:
    """Blocks folded under a one-line summary (<details>, which GitHub's Markdown renders too)."""
    summary: str
    blocks: list


@dataclass
class Document:
    title: str
    blocks: list = field(default_factory=list)

    def add(self, *blocks) -> None:
        self.blocks.extend(blocks)


THIN_SPACE = "\u202f"  # French separates thousands with a narrow no-break space


def number(value: float, digits: int | None = None) -> str:
    """A number written the French way: decimal comma, thousands separated; 4 significant digits by default,
    or ``digits`` decimals."""
    if isinstance(value, int) and not isinstance(value, bool):
        text = f"{value:,}"
    elif digits is not None:
        text = f"{value:,.{digits}f}"
    else:
        text = f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"
    return text.replace(",", THIN_SPACE).replace(".", ",")


def cell(value) -> str:
    """Numbers read well: 4 significant decimals, thousands separated, in French (oui / non)."""
    if isinstance(value, bool) or value is None:
        return "" if value is None else ("oui" if value else "non")
    if isinstance(value, Mark):
        return value.text
    if isinstance(value, (int, float)):
        return number(value)
    return str(value)


CSS = """
body{font:16px/1.5 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0 auto;max-width:60rem;
padding:1rem;color:#1f2328;background:#fff}
h1{font-size:1.8rem}h2{border-bottom:1px solid #d0d7de;padding-bottom:.2rem;margin-top:2.2rem}
table{border-collapse:collapse;margin:.8rem 0;display:block;overflow-x:auto;max-width:100%}
th,td{border:1px solid #d0d7de;padding:.3rem .6rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}td{font-variant-numeric:tabular-nums}caption{text-align:left;color:#59636e}
figure{margin:1rem 0}img{max-width:min(100%,44rem);height:auto}figcaption{color:#59636e;font-size:.9rem}
pre{background:#f6f8fa;padding:.8rem;overflow-x:auto;white-space:pre-wrap;font-size:.85rem}
nav a{margin-right:.8rem}.back{display:inline-block;margin:.4rem 0}
.met{color:#1a7f37;font-weight:600}.missed{color:#cf222e;font-weight:600}.unmeasured{color:#59636e}
ul.bullets li{margin:.35rem 0}details{margin:.6rem 0}summary{cursor:pointer;color:#0969da}
@media print{body{max-width:none}h2{break-after:avoid}figure,table{break-inside:avoid}nav,.back{display:none}}
"""


def to_html(doc: Document) -> str:
    """The self-contained page (templates/report.html); Jinja2 escapes every value unless marked safe."""
    sections = [b for b in doc.blocks if isinstance(b, Heading) and b.level == 2]
    return _templates().get_template("report.html").render(doc=doc, sections=sections, css=Markup(CSS),
                                                           back=BACK)


BACK = Link("← Retour au laboratoire", "/")  # the page that opens the report (web/index.html, served at /)


@functools.cache
def _templates():
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
                             autoescape=True, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
                             undefined=jinja2.StrictUndefined)
    env.tests.update(heading=lambda b: isinstance(b, Heading), paragraph=lambda b: isinstance(b, Paragraph),
                     preformatted=lambda b: isinstance(b, Preformatted), table=lambda b: isinstance(b, Table),
                     figure=lambda b: isinstance(b, Figure), audio=lambda b: isinstance(b, Audio),
                     bullets=lambda b: isinstance(b, Bullets), details=lambda b: isinstance(b, Details),
                     mark=lambda b: isinstance(b, Mark), link=lambda b: isinstance(b, Link))
    env.filters.update(anchor=_anchor, cell=cell, inline_code=lambda text: Markup(_inline_code(html.escape(text))),
                       png_data_uri=lambda path: "data:image/png;base64," +
                       base64.b64encode(Path(path).read_bytes()).decode("ascii"),
                       audio_data_uri=_audio_data_uri)
    return env


def _audio_data_uri(path: Path) -> str:
    from dllab.speech import wav

    samples, rate = wav.read_pcm(Path(path).read_bytes())
    return "data:audio/ogg;base64," + base64.b64encode(wav.encode(samples, rate, "ogg")).decode("ascii")


def to_markdown(doc: Document, relative_to: Path) -> str:
    """Markdown with figures linked relative to the folder the file is written in."""
    return "\n".join([f"# {doc.title}", "", *_markdown_lines(doc.blocks, relative_to)])


def _markdown_lines(blocks: list, relative_to: Path) -> list[str]:
    lines = []
    for block in blocks:
        if isinstance(block, Heading):
            if block.id:  # the same anchor as the page's (GitHub makes its own from the text)
                lines += [f'<a id="{block.id}"></a>', ""]
            lines += ["#" * block.level + " " + block.text, ""]
        elif isinstance(block, Paragraph):
            lines += [block.text, ""]
        elif isinstance(block, Preformatted):
            lines += ["```text", block.text, "```", ""]
        elif isinstance(block, Table):
            if block.caption:
                lines += [f"*{block.caption}*", ""]
            lines.append("| " + " | ".join(_md_cell(h) for h in block.headers) + " |")
            lines.append("|" + "---|" * len(block.headers))
            lines += ["| " + " | ".join(_md_cell(cell(v)) for v in row) + " |" for row in block.rows]
            lines.append("")
        elif isinstance(block, Figure):
            link = Path(os.path.relpath(block.path, relative_to)).as_posix()
            lines += [f"![{block.caption}]({link})", f"*{block.caption}*", ""]
        elif isinstance(block, Audio):
            link = Path(os.path.relpath(block.path, relative_to)).as_posix()
            lines += [f"[▶ {block.caption}]({link})", ""]
        elif isinstance(block, Bullets):
            lines += ["- " + "".join(_md_inline(part) for part in item) for item in block.items]
            lines.append("")
        elif isinstance(block, Details):
            lines += [f"<details><summary>{html.escape(block.summary, quote=False)}</summary>", "",
                      *_markdown_lines(block.blocks, relative_to), "</details>", ""]
    return lines


def _md_inline(part) -> str:
    if isinstance(part, Mark):
        return f"**{part.text}**"
    if isinstance(part, Link):
        return f"[{part.text}]({part.href})"
    return str(part)


def _inline_code(escaped: str) -> str:
    """`command` → <code>command</code>, applied after escaping so no markup can slip in."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", escaped)


def _md_cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _anchor(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text.lower()).strip("-")
