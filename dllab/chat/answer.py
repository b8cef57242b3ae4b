"""How the chatbot answers from the retrieved passages: quoted (grounded) or generated, or declined.

``chat.answer_mode``:
- ``quote`` (the offline default): the answer is the passages' own sentences, each followed by the number of
  its passage, e.g. « Préchauffez le four à 190 °C. [2] ». Nothing is written that is not in a document. Its
  shape follows the question (``dllab.chat.questions``): a procedure is answered with the steps of the
  best-matching section in order, a list with that section's items (``dllab.rag.structure``); other questions
  with the sentences that best answer them (ranked at sentence level by ``dllab.rag.sentences``), each with
  the sentence that follows it in its passage (see ``choose_quotes``). The registry's only instruct model
  (SmolLM2-135M) wrote clumsy, often wrong French; quoting is what its users can trust.
- ``generate``: the LLM writes the answer from the passages (``dllab.chat.prompt``); for capable models
  (a 7B instruct GGUF online, or a GPU).
Both modes decline the same way: when the best sentence of the passages scores below ``chat.decline_below``
(calibrated on the question set by ``chat_evaluate``), or when the question's subject is words the documents
never use (see ``Answerer.off_topic``), the answer is the fixed "not in the documents" sentence in the
question's language, and the closest passages are still listed as sources. Quote mode also declines a
question asking for a number when none of the chosen sentences gives one. When the evidence is ambiguous
(under ``chat.judge_above``), a yes/no judge (``dllab.chat.judge``) reads the chosen sentences and the question,
and the question is declined when its P(yes) is under ``chat.judge_below``.
A greeting or a single word gets a short invitation to ask about the documents instead.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Iterator, Sequence

from dllab.chat import questions as q
from dllab.chat.prompt import NOT_FOUND, build_prompt, question_language
from dllab.rag.lexical import tokens
from dllab.rag.sentences import Quote, enumerates, rank_quotes, units
from dllab.rag.structure import ITEM, STEP

if TYPE_CHECKING:
    from dllab.chat.config import ChatParams

INVITATION = ("Bonjour ! Posez-moi une question sur les documents, par exemple « Comment faire … ? » ou "
              "« Combien de … ? » : je réponds en citant leurs phrases.")
# Said before a quoted answer to an English question: the documents' sentences stay in French.
ENGLISH_NOTE = "(The documents are in French; here is what they say.)"
STRUCTURED_CHARS = 2  # a procedure or a list may be this many times chat.answer_chars long
PREFIX = 6            # words of this many letters or more that share their first ones are forms of one word
THEME_SHARE = 0.4     # a word in at least this share of the sections is the corpus's theme, not a subject
# An instruction: a sentence that starts with a French imperative (« Étalez », « Faites »); a procedure written
# as prose is a run of them.
# « Oui. » or « Non. » opening a FAQ answer answers the FAQ's own question: quoted for any other question, it
# answers nothing (or the wrong thing), so it is dropped unless the question asks for a yes or no.
_LONE_YES_NO = re.compile(r"^(oui|non|yes|no)\s*[.!]\s+(?=\S)", re.IGNORECASE)
_IMPERATIVE = re.compile(r"^(?:puis |ensuite |enfin )?[A-Za-zÀ-ÿ'-]{2,}ez\b(?! vous)", re.IGNORECASE)
# A first sentence starting like these points to something said before it (« Elle a été trop travaillée »).
_DANGLING = re.compile(r"^(il|elle|ils|elles|celui-ci|celle-ci|ceux-ci|celles-ci|cela|ça|ce dernier|cette derni[eè]re|"
                       r"ces|leur|leurs|en revanche|pourtant|alors|sinon|mais|ainsi|de plus|par ailleurs|"
                       r"pour (y parvenir|cela|ce faire|l'éviter|les éviter)|dans ce cas|c'est pourquoi|"
                       r"it|they|this|these|those|then|"
                       r"on (peut |doit |va )?(les?|la|l'|en|y|lui|leur)\b|il (faut|suffit) (les?|la|l'|en|y)\b)\b",
                       re.IGNORECASE)

MODES = ("quote", "generate")
_CITATION = re.compile(r"\s*\[\d+(?:\s*,\s*\d+)*\]")


def not_found(question: str) -> str:
    """The fixed sentence that declines, in the question's language."""
    return NOT_FOUND.get(question_language(question), NOT_FOUND["French"])


def without_citations(text: str) -> str:
    """The answer as it is spoken: passage numbers such as ``[2]`` removed."""
    return _CITATION.sub("", text).strip()


@dataclass
class AnswerPlan:
    """What one turn will answer: the passages, the evidence, and (in quote mode) the chosen sentences."""

    mode: str
    hits: list
    evidence: float                  # the best sentence's score: below decline_below, the question is declined
    declined: bool
    quotes: list[Quote] = field(default_factory=list)   # quote mode: the answer's sentences, in answer order
    prompt: object = None            # generate mode: the Prompt given to the model
    kind: str = q.OTHER              # what the question asks for (dllab.chat.questions.KINDS)
    reply: str = ""                  # a fixed reply instead of an answer (a greeting gets the invitation)
    note: str = ""                   # said before the quotes (an English question answered in French)
    why: str = ""                    # why it was declined: evidence, off_topic, no_number or judge
    judged: float | None = None      # the judge's P(yes) when it was asked (ambiguous evidence), else None


class Answerer:
    """Chooses, for one question and its retrieved passages, the sentences to quote or the prompt to generate."""

    def __init__(self, retriever, model, params: ChatParams, judge=None):
        """``judge``: a ``dllab.chat.judge.Judge`` asked about ambiguous evidence, or None (never asked)."""
        self.retriever, self.model, self.params, self.judge = retriever, model, params, judge

    def query(self, question: str, history: Sequence[dict]) -> str:
        """What to search and rank with: the question, read with the previous one when it follows it up."""
        return q.standalone(question, history)

    def plan(self, question: str, hits: Sequence, history: Sequence[dict]) -> AnswerPlan:
        hits = list(hits)
        mode = self.params.answer_mode
        if q.is_greeting(question):
            return AnswerPlan(mode, [], 0.0, False, kind=q.OTHER, reply=INVITATION)
        query = self.query(question, history)
        kind = q.question_kind(query)
        ranked = rank_quotes(self.retriever, query, hits) if hits else []
        evidence = ranked[0].score if ranked else 0.0
        if evidence < self.params.decline_below:
            return AnswerPlan(mode, hits, evidence, declined=True, kind=kind, why="evidence")
        if self.off_topic(query, kind):
            return AnswerPlan(mode, hits, evidence, declined=True, kind=kind, why="off_topic")
        note = ENGLISH_NOTE if question_language(question) == "English" else ""
        if mode == "quote":
            shaped = self.structured(query, kind, hits) if kind in (q.PROCEDURE, q.LIST) else None
            if shaped is not None:
                hits, quotes = shaped
            else:
                quotes = choose_quotes(with_context(self.by_subject(query, kind, ranked, hits)), *self.limits(kind))
            if kind != q.YES_NO:
                quotes = [without_lone_yes_no(quote) for quote in quotes]
            if kind == q.QUANTITY and not any(q.states_number(quote.text) for quote in quotes):
                return AnswerPlan(mode, hits, evidence, declined=True, kind=kind, why="no_number")
            judged = self.judged(query, quotes, evidence)
            if judged is not None and judged < self.params.judge_below:
                return AnswerPlan(mode, hits, evidence, declined=True, kind=kind, why="judge", judged=judged)
            return AnswerPlan(mode, hits, evidence, False, quotes=quotes, kind=kind, note=note, judged=judged)
        judged = self.judged(query, choose_quotes(with_context(ranked), *self.limits(q.OTHER)), evidence)
        if judged is not None and judged < self.params.judge_below:
            return AnswerPlan(mode, hits, evidence, declined=True, kind=kind, why="judge", judged=judged)
        prompt = build_prompt(question, hits, history, self.model.count_tokens, self.model.n_ctx,
                              self.model.max_tokens)
        return AnswerPlan(mode, prompt.hits, evidence, False, prompt=prompt, kind=kind, judged=judged)

    def by_subject(self, query: str, kind: str, ranked: Sequence[Quote], hits: Sequence) -> list[Quote]:
        """The ranking by cosine plus ``chat.subject_words_weight`` times the share of the question's specific
        subject words (``subject``) each sentence or the heading of its passage's section uses (in Snowball
        stems: « Pour un moule de 24 centimètres… » under « La tarte Tatin » is about the Tatin), each word weighed by its rarity in the documents (the
        log of sections over the sections using it: « lamelles » counts more than « pâte »); the cosine alone
        for an English question (its words are not the documents'). Scores stay the cosines: the evidence and
        the judge read those. A quantity question asks for a number: stating one counts as its rarest word."""
        weight = self.params.subject_words_weight
        specific = self.subject(query)[0] if weight and question_language(query) != "English" else []
        _, size = self._vocabulary()
        rarity = {word: math.log((1 + size) / (1 + self._sections_using(word))) for word in specific}
        asks_number = kind == q.QUANTITY and bool(rarity)
        number = max(rarity.values()) if asks_number else 0.0
        total = sum(rarity.values()) + number
        if not total:
            return list(ranked)

        # Words meet in their Snowball stems, as in BM25 (« reposer » meets « Repos de la pâte »).
        stems = {word: set(tokens(word)) for word in specific}

        headings = [set(tokens(getattr(hit, "section", "") or "")) for hit in hits]

        def share(quote: Quote) -> float:
            present = set(tokens(quote.text)) | (headings[quote.passage - 1] if quote.passage <= len(headings) else set())
            found = sum(rarity[word] for word in specific if stems[word] and stems[word] <= present)
            return (found + (number if asks_number and q.states_number(quote.text) else 0.0)) / total

        return sorted(ranked, key=lambda quote: (-(quote.score + weight * share(quote)), quote.passage, quote.position))

    def judged(self, query: str, quotes: Sequence[Quote], evidence: float) -> float | None:
        """The judge's P(yes) that ``quotes`` answer ``query``, when the evidence is ambiguous; else None."""
        if self.judge is None or evidence >= self.params.judge_above or not quotes:
            return None
        return self.judge.p_yes(query, " ".join(quote.text for quote in quotes))

    def limits(self, kind: str) -> tuple[int, int]:
        """(sentences, characters) of an answer made of the best sentences: a list found in no section's items
        gets ``STRUCTURED_CHARS`` times more than a single fact."""
        widen = STRUCTURED_CHARS if kind == q.LIST else 1
        return widen * self.params.answer_sentences, widen * self.params.answer_chars

    # -- the corpus's words: which of a question's words the documents use ------------------------------------
    def _vocabulary(self) -> tuple[dict[str, int], int]:
        """Each folded word of the index with the number of its sections (or, for an index without sections,
        chunks) that use it; and the number of those."""
        texts = list(getattr(self.retriever, "texts", None) or [])
        if getattr(self, "_vocab_size", None) is None or self._vocab_texts != len(texts):  # once per index
            sections = getattr(self.retriever, "sections", None)
            grouped = sections() if sections is not None else {}
            parts = [" ".join(c.text for c in chunks) for chunks in grouped.values()] if grouped else texts
            counts: dict[str, int] = {}
            for text in parts:
                for word in set(q.words(text)):
                    counts[word] = counts.get(word, 0) + 1
            self._vocab, self._vocab_size, self._vocab_texts = counts, len(parts), len(texts)
        return self._vocab, self._vocab_size

    def _sections_using(self, word: str) -> int:
        """How many sections use the word: as it is, in the plural or singular, or (for a long word) in another
        form of the same stem (« conseillées », « conseil ») or with a typo (« temperture »)."""
        vocabulary, _ = self._vocabulary()
        forms = {word, word + "s", word + "x", word[:-1] if word[-1:] in "sx" else word}
        found = max((vocabulary.get(form, 0) for form in forms), default=0)
        if not found and len(word) >= PREFIX:
            found = max((n for known, n in vocabulary.items() if known[:PREFIX] == word[:PREFIX]), default=0)
        if not found and len(word) >= 7:
            import difflib

            close = difflib.get_close_matches(word, list(vocabulary), n=1, cutoff=0.85)
            found = vocabulary[close[0]] if close else 0
        return found

    def subject(self, query: str) -> tuple[list[str], list[str]]:
        """The question's subject words that are not the corpus's theme, and those of them the documents never use."""
        vocabulary, size = self._vocabulary()
        if not size:
            return [], []
        counts = {word: self._sections_using(word) for word in q.subject_words(query)}
        specific = [w for w, n in counts.items() if n < THEME_SHARE * size]
        return specific, [w for w in specific if counts[w] == 0]

    def off_topic(self, query: str, kind: str) -> bool:
        """The question is about something the documents never name: every subject word unknown to them, or,
        for a procedure or a list (« how to make X »), half or more of the words naming X."""
        vocabulary, size = self._vocabulary()
        if not size:
            return False
        if question_language(query) == "English":
            return False  # its words are not the documents' (French) words: the evidence alone decides
        words = q.subject_words(query)
        if words and all(self._sections_using(w) == 0 for w in words):
            return True
        if kind in (q.PROCEDURE, q.LIST):
            specific, absent = self.subject(query)
            return bool(absent) and 2 * len(absent) >= len(specific)
        return False

    # -- procedures and lists: the best-matching section, whole ----------------------------------------------
    def structured(self, query: str, kind: str, hits: list) -> tuple[list, list[Quote]] | None:
        """(hits, quotes) answering a procedure with the steps of the best-matching section in order, or a list
        with its items; None when no section of the index can (the answer is then made as for other questions).

        Sections are ranked by how many of the question's specific subject words they use (heading included),
        then by having the structure asked for, then by their best sentence's cosine with the question."""
        sections = getattr(self.retriever, "sections", None)
        if sections is None:
            return None
        candidates = sections()  # {(file, section_id): [Hit of each chunk, in order]}
        if not candidates:
            return None
        # an English question's words are not the (French) sections' words: only the structure and cosines count
        specific = self.subject(query)[0] if question_language(query) != "English" else []
        wanted = STEP if kind == q.PROCEDURE else ITEM
        scored = []
        for key, chunks in candidates.items():
            found = section_units(chunks)
            # its own heading and sentences (not the headings above it, which name their other sections too)
            heading = set(q.words(chunks[0].section.split(" — ")[-1]))
            present = heading | set(q.words(" ".join(u.text for _, u in found)))
            covered = (sum(uses(heading, w) for w in specific), sum(uses(present, w) for w in specific))
            shaped = sum(u.role == wanted and enumerated_in(u.text, specific) or (wanted == ITEM and u.role == "list")
                         for _, u in found)
            # a section of instructions without numbers (« Étalez la pâte… Faites cuire… ») is a procedure too
            instructions = sum(bool(_IMPERATIVE.match(u.text)) for _, u in found)
            shape = (0 if shaped >= (2 if kind == q.PROCEDURE else 3) else
                     1 if kind == q.PROCEDURE and instructions >= 2 else 2)
            scored.append((covered, shape, key, found))
        best_coverage = max(s[0] for s in scored)
        pool = [s for s in scored if s[0] == best_coverage]
        # The best sentence's cosine of each remaining section (their vectors are stored: a dot product).
        texts = [u.text for s in pool for _, u in s[3] if not u.asks]
        if not texts:
            return None
        cosines = dict(zip(texts, self.retriever.sentence_cosines(query, texts)))
        pool.sort(key=lambda s: (s[1], -max((cosines.get(u.text, 0.0) for _, u in s[3] if not u.asks),
                                                default=0.0)))
        covered, shape, key, found = pool[0]
        budget = STRUCTURED_CHARS * self.params.answer_chars
        if shape == 2 and kind == q.PROCEDURE:
            # a section named after it only describes it; a step titled with it (« Étape 1 : préparer la pâte
            # brisée ») says how to make it
            titled = titled_step(scored, specific)
            if titled is not None:
                key, step = titled
                return cite(hits, candidates[key], within(step, budget))
        if shape == 2:
            if not covered[0]:
                return None  # no section is about it and none has the structure asked for: the best sentences
            # the section its heading names, written as prose: its best sentences
            scores = {u.text: float(cosines.get(u.text, 0.0)) for _, u in found}
            return cite(hits, candidates[key], best_of_section(found, scores, *self.limits(kind)))
        if shape == 0 and kind == q.PROCEDURE:
            step = one_step(found, specific, cosines)
            chosen = steps_of(found, budget) if step is None else within(step, budget)
        elif shape == 0:
            chosen = items_of(found, budget)
        else:
            chosen = instructions_of(found, budget)
        return cite(hits, candidates[key], chosen)

    def stream(self, question: str, plan: AnswerPlan) -> Iterator[str]:
        """The answer's text, piece by piece: quoted sentences one at a time, or the model's tokens."""
        if plan.reply:
            yield plan.reply
        elif plan.declined:
            yield not_found(question)
        elif plan.mode == "quote":
            if plan.note:
                yield plan.note + " "
            for n, quote in enumerate(plan.quotes):
                yield ("" if n == 0 else " ") + f"{quote.text} [{quote.passage}]"
        else:
            yield from self.model.stream(plan.prompt.messages)


def choose_quotes(ranked: Sequence[Quote], sentences: int, chars: int) -> list[Quote]:
    """The best sentences, each followed by the sentence after it in its passage, up to ``sentences`` within
    ``chars`` characters (the best always; see ``Answerer.limits``), put back in reading order: passage by
    passage in the order their best sentence ranked, each passage's sentences in document order.

    The sentence closest to a question often restates it (« La deuxième erreur est une pâte qui se rétracte
    dans le moule. ») and the next one answers it (« Elle a été trop travaillée… »). Quoting each best
    sentence with its follower raised correct from 0.81 to 0.86 on the question set, and on two sets written by
    other authors without seeing the answers from 0.69 to 0.81 and from 0.73 to 0.77 (the second one untouched
    by any choice), with answers no longer (about 350 characters).
    """
    following = {(quote.passage, quote.position): quote for quote in ranked}
    candidates = (quote for best in ranked
                  for quote in (best, following.get((best.passage, best.position + 1))) if quote is not None)
    chosen: dict[tuple[int, int], Quote] = {}
    length = 0
    for quote in candidates:
        if len(chosen) >= sentences:
            break
        key = (quote.passage, quote.position)
        if key not in chosen and (not chosen or length + len(quote.text) <= chars):
            chosen[key] = quote
            length += len(quote.text) + 5  # " [n] "
    passage_order: dict[int, int] = {}
    for quote in chosen.values():
        passage_order.setdefault(quote.passage, len(passage_order))
    return sorted(chosen.values(), key=lambda q: (passage_order[q.passage], q.position))


def without_lone_yes_no(quote: Quote) -> Quote:
    """The quote without the « Oui. » or « Non. » its text opens with (a FAQ answer's), else unchanged."""
    lead = _LONE_YES_NO.match(quote.text)
    return quote if lead is None else replace(quote, text=quote.text[lead.end():])


def starts_dangling(text: str) -> bool:
    """Whether a sentence starts with a pronoun or link that points to a sentence before it."""
    return bool(_DANGLING.match(text.strip().lstrip("«\"' ")))


def with_context(ranked: Sequence[Quote]) -> list[Quote]:
    """The ranking with each sentence that starts by pointing back (« On peut les faire sauter… ») preceded by
    the sentence it points to, when that one is in its passage; one pointing to nothing quotable drops out.

    ``choose_quotes`` puts a passage's sentences in reading order, so the antecedent comes first."""
    by_place = {(quote.passage, quote.position): quote for quote in ranked}
    out: list[Quote] = []
    for quote in ranked:
        if not starts_dangling(quote.text):
            out.append(quote)
            continue
        before = by_place.get((quote.passage, quote.position - 1))
        if before is not None and not starts_dangling(before.text):
            out.extend([Quote(before.text, before.passage, before.position, quote.score, before.role, before.step),
                        quote])
    return out or list(ranked)


def section_units(chunks: Sequence) -> list[tuple[int, object]]:
    """The units of a section's chunks in reading order, each with the index of its chunk; the sentences that
    overlapping chunks repeat are kept once, and a step's later sentences know their step."""
    found, seen, step = [], [], None
    for n, chunk in enumerate(chunks):
        for unit in units(chunk.text):
            key = " ".join(q.words(unit.text))
            if not key or any(key in earlier for earlier in seen[-6:]):
                continue  # repeated by the overlap (whole, or the tail of a sentence cut at the chunk's start)
            seen.append(key)
            if unit.role == STEP:
                step = unit.step
            elif step is not None and unit.step is None and unit.role == "text":
                unit = type(unit)(unit.text, unit.asks, "step_detail", step, unit.line_start)
            found.append((n, unit))
    return found


def uses(present: set[str], word: str) -> bool:
    """Whether a text whose words are ``present`` uses ``word`` (or its plural or singular)."""
    return any(form in present for form in (word, word + "s", word + "x", word.rstrip("sx")))


def one_step(found, specific: list[str], cosines: dict) -> list | None:
    """The units of the one step the question is about, when its subject words are in some steps but not all
    (« comment on fait la pâte brisée » is step 1 of the recipe): the best-matching of those; else None."""
    steps: dict[int, list] = {}
    for n, u in found:
        if u.step is not None:
            steps.setdefault(u.step, []).append((n, u))
    if not specific or len(steps) < 2:
        return None
    covering = [number for number, mine in steps.items()
                if all(uses(set(q.words(" ".join(u.text for _, u in mine))), w) for w in specific)]
    if not covering or len(covering) == len(steps):
        return None
    best = max(covering, key=lambda number: max(cosines.get(u.text, 0.0) for _, u in steps[number]))
    return steps[best]


def enumerated_in(text: str, specific: list[str]) -> bool:
    """Whether a unit is an item of the list asked for: a bulleted item, or an item of a list written as prose
    (« Le deuxième secret est… ») whose enumerated word is one of the question's subject words (« les
    secrets »); « La deuxième erreur… » is not an item of « quelles variétés… »."""
    noun = enumerates(text)
    return noun is None or any(uses({fold_word(noun)}, w) for w in specific)


def fold_word(word: str) -> str:
    folded = q.words(word)
    return folded[0] if folded else ""


def titled_step(scored, specific: list[str]):
    """(section key, the step's units) of the first section's step whose first sentence uses every one of the
    question's subject words, else None."""
    if not specific:
        return None
    for _, _, key, found in scored:
        steps: dict[int, list] = {}
        for n, u in found:
            if u.step is not None:
                steps.setdefault(u.step, []).append((n, u))
        for mine in steps.values():
            title = set(q.words(mine[0][1].text))
            if mine[0][1].role == STEP and all(uses(title, w) for w in specific):
                return key, mine
    return None


def steps_of(found, budget: int) -> list[tuple[int, object]]:
    """Every step's first sentence in order, and each step's next sentence too when all of those fit."""
    firsts = [(n, u) for n, u in found if u.role == STEP]
    seconds = {}
    for n, u in found:
        if u.role == "step_detail" and u.step not in seconds:
            seconds[u.step] = (n, u)
    whole = [x for pair in ((first, seconds.get(first[1].step)) for first in firsts) for x in pair if x]
    if sum(len(u.text) + 5 for _, u in whole) <= budget:
        return whole
    kept, length = [], 0
    for n, u in firsts:
        if kept and length + len(u.text) > budget:
            break
        kept.append((n, u))
        length += len(u.text) + 5
    return kept


def instructions_of(found, budget: int) -> list[tuple[int, object]]:
    """A procedure written as prose: from the sentence before its first instruction (often what it needs) on,
    in order, as many as fit."""
    quotable_units = [(n, u) for n, u in found if not u.asks]
    first = next(i for i, (_, u) in enumerate(quotable_units) if _IMPERATIVE.match(u.text))
    start = first - 1 if first and not starts_dangling(quotable_units[first - 1][1].text) else first
    kept, length = [], 0
    for n, u in quotable_units[start:]:
        if kept and length + len(u.text) > budget:
            break
        kept.append((n, u))
        length += len(u.text) + 5
    return kept


def within(found, budget: int) -> list:
    """The units in order, as many as fit ``budget`` characters (the first always)."""
    kept, length = [], 0
    for n, u in found:
        if kept and length + len(u.text) > budget:
            break
        kept.append((n, u))
        length += len(u.text) + 5
    return kept


def best_of_section(found, scores: dict[str, float], sentences: int, chars: int) -> list[tuple[int, object]]:
    """A section without the structure asked for: all of it in order when it fits ``chars``, else its best
    sentences (as ``choose_quotes`` picks them), in order."""
    quotable_units = [(n, u) for n, u in found if not u.asks]
    if sum(len(u.text) + 5 for _, u in quotable_units) <= chars:
        return quotable_units
    ranked = sorted(range(len(quotable_units)), key=lambda i: -scores.get(quotable_units[i][1].text, 0.0))
    as_quotes = [Quote(quotable_units[i][1].text, 1, i, scores.get(quotable_units[i][1].text, 0.0)) for i in ranked]
    return [quotable_units[quote.position] for quote in choose_quotes(with_context(as_quotes), sentences, chars)]


def items_of(found, budget: int) -> list[tuple[int, object]]:
    """The section's items (and lists with their introduction) in order, as many as fit."""
    kept, length = [], 0
    for n, u in found:
        if u.role in (ITEM, "list"):
            if kept and length + len(u.text) > budget:
                break
            kept.append((n, u))
            length += len(u.text) + 5
    return kept


def cite(hits: list, section_chunks: Sequence, chosen) -> tuple[list, list[Quote]]:
    """The chosen units as quotes citing their passage: a chunk of the section not among the retrieved passages
    is added to them (as a source, after them), so every quote cites a listed source."""
    hits = list(hits)
    number = {hit.chunk_id: i for i, hit in enumerate(hits, start=1)}
    quotes = []
    for position, (n, unit) in enumerate(chosen):
        chunk = section_chunks[n]
        if chunk.chunk_id not in number:
            hits.append(chunk)
            number[chunk.chunk_id] = len(hits)
        role = STEP if unit.role == "step_detail" else unit.role
        text = unit.text if re.search(r"[.!?…:;)»]$", unit.text) else unit.text + "."  # an item: said as a sentence
        quotes.append(Quote(text, number[chunk.chunk_id], position, 1.0, role, unit.step))
    return hits, quotes
