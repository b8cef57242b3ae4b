"""Preparing text for a speech engine: clean it, then cut it into sentence-sized pieces.

Engines have a limit on what they say well in one go (Bark: about 13 s of audio), so long text is
split by sentence and the pieces are synthesised one after the other with the same voice.
"""
from __future__ import annotations

import re
import unicodedata

from dllab.errors import UserError

_SENTENCE_END = re.compile(r"(?<=[.!?…;:])\s+|\n\s*")
_CLAUSE_END = re.compile(r"(?<=[,;:)])\s+")
# Markdown that language models put in answers; engines would spell it ("astérisque astérisque Paris").
_MARKDOWN = re.compile(r"[*`]+|^[ \t]*#+[ \t]*|(?<!\w)_+|_+(?!\w)", re.MULTILINE)


def clean(text: str, max_chars: int) -> str:
    """``text`` without control characters, Markdown marks or extra spaces; UserError when empty or too long."""
    if not isinstance(text, str):
        raise UserError(f"text to speak must be a string, not {type(text).__name__}")
    # Control and format characters (NUL, escape, zero-width...) would reach the engine as noise.
    kept = "".join(c if unicodedata.category(c)[0] != "C" or c in "\n\t" else " " for c in text)
    kept = _MARKDOWN.sub("", kept)
    kept = "\n".join(" ".join(line.split()) for line in kept.splitlines())
    kept = re.sub(r"\n+", "\n", kept).strip()
    if not kept:
        raise UserError("there is no text to speak (empty or only spaces)")
    if len(kept) > max_chars:
        raise UserError(f"text to speak has {len(kept)} characters; at most {max_chars} (tts.max_chars)")
    return kept


def opening(text: str, max_chars: int) -> str:
    """The start of ``text`` up to ``max_chars`` characters: whole sentences when they fit, else whole words.

    What is said of a long question: reading 1,000 characters aloud would take a minute.
    """
    if len(text) <= max_chars:
        return text
    said = ""
    for sentence in filter(None, _SENTENCE_END.split(text)):
        if len(said) + 1 + len(sentence) > max_chars:
            break
        said = f"{said} {sentence}".strip()
    return said or _cut(text, max_chars)[0]


def chunks(text: str, max_chars: int) -> list[str]:
    """Consecutive sentences grouped into pieces of at most ``max_chars`` characters.

    A sentence longer than ``max_chars`` is cut at clause ends (commas...), then between words.
    """
    pieces: list[str] = []
    for sentence in filter(None, _SENTENCE_END.split(text)):
        for part in _cut(sentence.strip(), max_chars):
            if pieces and len(pieces[-1]) + 1 + len(part) <= max_chars:
                pieces[-1] += " " + part
            else:
                pieces.append(part)
    return pieces


def _cut(sentence: str, max_chars: int) -> list[str]:
    if len(sentence) <= max_chars:
        return [sentence]
    parts: list[str] = []
    for clause in _CLAUSE_END.split(sentence):
        words = clause.split(" ")
        while words:
            line = words.pop(0)[:max_chars]  # a single "word" longer than the limit is truncated
            while words and len(line) + 1 + len(words[0]) <= max_chars:
                line += " " + words.pop(0)
            if parts and len(parts[-1]) + 1 + len(line) <= max_chars:
                parts[-1] += " " + line
            else:
                parts.append(line)
    return parts


# Where a streamed answer can be cut to speak what came before: the end of a sentence followed by a
# space (so "2.5" or "www.x.fr" are not cut), or a line break.
_STREAM_SENTENCE_END = re.compile(r"[.!?…]+[\"'»)\]]*\s+|\n+")


# Where the first piece of an answer may end early: a clause end after at least FIRST_CLAUSE_MIN_CHARS.
_CLAUSE_BREAK = re.compile(r"[,;:]\s+")
FIRST_CLAUSE_MIN_CHARS = 20
# The longest first piece: a neural voice's synthesis time grows with the clip's length, so a short first piece is
# heard sooner. A longer first clause is cut before a word that opens a phrase (a preposition, a conjunction, a
# relative), where a speaker may pause. Chosen on sentences of the documents, not the speech benchmark, by
# `python bench/speech.py --first-piece 40 35 30` (the wait against Whisper's word error rate, both lower at 35
# than at 40; 30 cut more noun phrases, « la tarte | aux pommes », for a small gain).
FIRST_PIECE_MAX_CHARS = 35
# (Not « de », « à », « en »: they open a noun's complement as often as a phrase, « la tarte aux pommes ».)
_PHRASE_START = re.compile(r"\s+(?=(?:dans|avec|sans|sur|sous|pour|par|chez|entre|vers|pendant|avant|après|selon|"
                           r"et|ou|mais|puis|car|donc|qui|que|qu'|dont|où|quand|lorsque|jusqu'|afin|comme|si|"
                           r"in|on|at|with|for|and|or|but|which|that|when|until)\b)", re.IGNORECASE)
# Words a piece should not end on: they lean on the word after them.
_LEANING = {"à", "au", "aux", "de", "du", "des", "la", "le", "les", "un", "une", "en", "et", "ou", "se", "ne", "ce",
            "sa", "son", "ses", "leur", "leurs", "mon", "ma", "mes", "the", "a", "an", "of", "to"}


class SentenceCutter:
    """Cuts text that arrives in pieces (an answer as the model streams it) into whole sentences.

    ``feed`` returns the sentences finished by a piece, ``rest`` what is left once the stream ends. A
    sentence longer than ``max_chars`` is cut at clause ends or between words (see ``chunks``), so the
    first words are spoken without waiting for a sentence that never ends. With ``first_clause`` the very
    first piece ends at the first clause end (a comma, a colon...) after ``FIRST_CLAUSE_MIN_CHARS``, and within
    ``first_piece_chars`` (else before the last word opening a phrase there): a neural voice's synthesis time
    grows with the clip's length, so a short first clip is heard sooner.
    """

    def __init__(self, max_chars: int, first_clause: bool = False, first_piece_chars: int = FIRST_PIECE_MAX_CHARS):
        self.max_chars = max_chars
        self.first_piece_chars = first_piece_chars
        self._pending = ""
        self._first = first_clause

    def feed(self, piece: str) -> list[str]:
        self._pending += piece
        finished = []
        while (end := self._next_end()) is not None:
            finished.append(self._pending[:end].strip())
            self._pending = self._pending[end:]
            self._first = False
        if len(self._pending) > self.max_chars:
            space = " " if self._pending[-1].isspace() else ""  # the next piece starts a new word
            *whole, last = _cut(self._pending.strip(), self.max_chars)
            finished, self._pending = finished + whole, last + space
        return [sentence for sentence in finished if sentence]

    def _next_end(self) -> int | None:
        """Where the next finished piece ends in what is pending, if it ends there."""
        end = _STREAM_SENTENCE_END.search(self._pending)
        if not self._first:
            return end.end() if end is not None else None
        clause = _CLAUSE_BREAK.search(self._pending, FIRST_CLAUSE_MIN_CHARS)
        if clause is not None and (end is None or clause.start() < end.start()):
            end = clause
        if end is not None and end.start() <= self.first_piece_chars:
            return end.end()
        if end is None and len(self._pending) < self.first_piece_chars + FIRST_CLAUSE_MIN_CHARS:
            return None  # the first clause may still end within reach
        # The first clause is longer: cut before the last phrase opening within the limit (else between words)
        # that leaves FIRST_CLAUSE_MIN_CHARS or more to the clause's end: a tail of a word or two said alone
        # (« aux pommes ? ») is heard as nothing.
        last = min(self.first_piece_chars,
                   (end.start() if end is not None else len(self._pending)) - FIRST_CLAUSE_MIN_CHARS)
        head = self._pending[:last + 1]
        phrases = [m.start() for m in _PHRASE_START.finditer(head, FIRST_CLAUSE_MIN_CHARS)]
        spaces = [m.start() for m in re.finditer(r"\s+", head) if m.start() >= FIRST_CLAUSE_MIN_CHARS
                  and not _leans(head[:m.start()])]
        cut = (phrases or spaces or [None])[-1]
        return cut + 1 if cut is not None else (end.end() if end is not None else None)

    def rest(self) -> list[str]:
        """What is left (a last sentence without final punctuation), in pieces of at most ``max_chars``."""
        left, self._pending = self._pending.strip(), ""
        return _cut(left, self.max_chars) if left else []


def _leans(before: str) -> bool:
    """Whether the last word of ``before`` leans on the next one (« à », « de », « l' »...)."""
    last = before.rsplit(None, 1)[-1].lower() if before.strip() else ""
    return last in _LEANING or last.endswith(("'", "’"))


def speakable(text: str) -> bool:
    """Whether ``text`` has something to say: at least one letter or digit (``clean`` keeps them all)."""
    return any(ch.isalnum() for ch in text)
