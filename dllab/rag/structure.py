"""The structure of a cleaned page: headings and their sections, numbered steps, list items and their
introductions, FAQ questions and their answers.

The rules look only at the shape of a paragraph (its first characters, its length, its last character),
never at what a document is about, so they read .txt, .md and PDF text alike:
- a heading is a short paragraph without final punctuation (« La recette pas à pas », « 2. CHOISIR LES
  POMMES »); a run of headings opens one section, named by the last of them;
- a step starts with a step word and a number (« Étape 3 : … », « Step 2. … ») or with « 3. » / « 3) »
  followed by a sentence;
- an item starts with a bullet (•, -, *, –); a paragraph ending with « : » introduces the items after it;
- a FAQ question is a paragraph that is one short question; it opens a section, its answer is what follows.
Each paragraph gets a ``role`` and the ``section`` it belongs to (the heading or question above it).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

HEADING = "heading"
STEP = "step"
ITEM = "item"
INTRO = "intro"        # « Pour la pâte brisée : » (the items follow)
QUESTION = "question"  # a FAQ question
TEXT = "text"

HEADING_WORDS = 12     # a heading has at most this many words
QUESTION_WORDS = 20    # a FAQ question is one sentence of at most this many words
_ENDS_SENTENCE = re.compile(r"[.!?…;»)]\s*$")
_STEP_WORD = re.compile(r"^(?:étape|etape|step|phase|stade)\s*(\d{1,3})\s*[:.)–—-]\s*", re.IGNORECASE)
_NUMBERED = re.compile(r"^(\d{1,2})\s*[.)]\s+(?=\S)")
BULLET = re.compile(r"^[•●▪◦‣∙*–-]\s+")
_LETTERS = re.compile(r"[^\W\d_]")


@dataclass(frozen=True)
class Block:
    text: str
    role: str
    section: str     # the heading (or FAQ question) above it; "" before the first one
    section_id: int  # the section's order in its page list, from 0 (-1 before the first heading)
    number: int | None = None  # a step's number


def step_number(line: str) -> int | None:
    """The number of a step line (« Étape 3 : … » → 3, « 3. Mélangez … » → 3), else None."""
    line = line.strip()
    found = _STEP_WORD.match(line)
    if found:
        return int(found.group(1))
    found = _NUMBERED.match(line)
    if found and not is_heading(line):
        return int(found.group(1))
    return None


def is_heading(line: str) -> bool:
    """Short, without final punctuation, with letters, not a bullet: a title (numbered ones included)."""
    line = line.strip()
    if not line or BULLET.match(line) or _STEP_WORD.match(line) or line.endswith(":"):
        return False
    words = line.split()
    if len(words) > HEADING_WORDS or _ENDS_SENTENCE.search(line) or not _LETTERS.search(line):
        return False
    numbered = _NUMBERED.match(line)
    if numbered:  # « 2. CHOISIR LES POMMES » is a title; « 2. Mélangez la farine » a step without its period
        rest = line[numbered.end():]
        return rest.upper() == rest
    return line[0].isupper() or line[0] in "«\"'(" or not line[0].isalpha()


def is_question(line: str) -> bool:
    line = line.strip()
    return line.endswith("?") and len(line.split()) <= QUESTION_WORDS and not re.search(r"[.!?…]\s", line[:-1])


def line_role(line: str, previous: str | None = None) -> str:
    """The role of one paragraph (a line of a chunk); ``previous``: the paragraph before it, if known."""
    line = line.strip()
    if BULLET.match(line):
        return ITEM
    if step_number(line) is not None:
        return STEP
    if is_heading(line):
        return HEADING
    if line.endswith(":"):
        return INTRO
    if is_question(line):
        return QUESTION
    return TEXT


def page_blocks(pages: list[str]) -> list[list[Block]]:
    """The paragraphs of each cleaned page (paragraphs separated by blank lines) with their roles and sections;
    a section goes on over a page break until the next heading."""
    out: list[list[Block]] = []
    section, section_id, next_id, after_heading = "", -1, 0, False
    for text in pages:
        found: list[Block] = []
        for paragraph in (p.strip() for p in text.split("\n\n")):
            if not paragraph:
                continue
            role = line_role(paragraph)
            if role in (HEADING, QUESTION):
                if not after_heading:  # a run of headings opens one section
                    section_id, next_id = next_id, next_id + 1
                section = paragraph
                after_heading = role == HEADING
            else:
                after_heading = False
            found.append(Block(paragraph, role, section, section_id, step_number(paragraph) if role == STEP else None))
        out.append(found)
    return out


def blocks(text: str) -> list[Block]:
    """The blocks of one page on its own."""
    return page_blocks([text])[0]


def by_section(found: list[Block]) -> list[list[Block]]:
    """Consecutive blocks grouped by section, in order."""
    groups: list[list[Block]] = []
    for block in found:
        if not groups or groups[-1][0].section_id != block.section_id:
            groups.append([])
        groups[-1].append(block)
    return groups
