"""What a question asks for, from its form alone (French and English): a procedure, a list, a quantity, a
yes or no, a reason or definition; whether it is only a greeting; whether it follows up the previous one;
which of its words name its subject; whether a text states a number.

These rules read the question's grammar (its first words, its interrogatives), never its topic: no rule
names a document, a dish or a question of the evaluation sets.
"""
from __future__ import annotations

import re
import unicodedata

from dllab.rag.evaluate import KINDS  # the question set's names for them

PROCEDURE, LIST, QUANTITY, YES_NO, WHY, OTHER = KINDS

_MAKE = r"(faire|fait|fais|preparer|prepare|realiser|realise|cuisiner|fabriquer|confectionner|reussir|monter)"
_KIND_RULES = [
    (QUANTITY, r"\bcombien\b|\bquel(le)?s? (est la |sont les )?(quantite|temperature|duree|poids|taille|epaisseur|"
               r"dose|proportion|temps|nombre|prix)\b|\ba quelle temperature\b|\bhow (many|much|long|hot)\b|"
               r"\bwhat temperature\b|\bat what temperature\b"),
    (PROCEDURE, rf"\bcomment (est[- ]ce qu'?on |on |je |peut[- ]on |faut[- ]il |dois[- ]je |tu )?{_MAKE}\b|"
                rf"\bcomment {_MAKE}[- ]on\b|\b(les |quelles sont les )?etapes\b|\bla recette (de|du|des|d)\b|"
                r"\bhow (do|can|should|would) (i|you|we|one) (make|prepare|cook|bake)\b|\bhow to (make|prepare|"
                r"cook|bake)\b|\bsteps\b|\brecipe for\b|\bc'?est quoi la recette\b"),
    (LIST, r"\bde quoi\b.*\bbesoin\b|\bwhat do (i|you|we) need\b|^(et )?quel(le)?s\b|^(donne|donnez|dis|dites|cite|liste|listez|enumere)[- ]moi\b|\bquel(le)?s sont\b|\bliste\b|\bcitez\b|\benumer|\bdifferent(e)?s\b|"
           r"\bwhat are\b|\bwhich\b.*\bare\b|\blist\b|\bwhat (kinds|types|sorts)\b|\bname the\b"),
    (YES_NO, r"^(est[- ]ce qu|peut[- ]on|peut on|faut[- ]il|dois[- ]je|doit[- ]on|puis[- ]je|y a[- ]t[- ]il|"
             r"on peut|je peux|can|is|are|does|do|should|must|could)\b"),
    (WHY, r"\bpourquoi\b|\bwhy\b|\bqu'?est[- ]ce que?\b|\bc'?est quoi\b|\bque (veut dire|signifie)\b|"
          r"\bwhat is\b|\bwhat does\b.*\bmean\b"),
]
_GREETINGS = {"bonjour", "bonsoir", "salut", "coucou", "hello", "hi", "hey", "yo", "allo", "merci", "thanks",
              "ok", "okay", "bjr", "slt", "cc", "re", "hola", "good", "morning", "evening", "ca", "va", "comment",
              "vas", "tu", "allez", "vous", "how", "are", "you", "thank", "bien", "et", "toi"}
# A short question that starts like these goes on from the previous one (« Et pour la tatin ? »).
_FOLLOW_UP = re.compile(r"^(et|and|what about|how about|ou|or)\b", re.IGNORECASE)
FOLLOW_UP_WORDS = 6
# Words of the question that ask rather than name its subject (accents folded).
_ASKING = set("""
comment pourquoi quand combien quel quelle quels quelles qui que quoi ou est sont ce cet cette ces c qu
faire fait fais faut peut peux dois doit puis preparer prepare realiser realise cuisiner fabriquer confectionner
reussir reussit monter recette recettes etape etapes different differente differents differentes principal
principale principaux principales sorte sortes type types genre liste citez donner donne donnez dire dis
il elle on je tu nous vous ils elles y a t le la les l un une des du de d au aux et en pour avec sans dans sur
par mon ma mes ton ta tes son sa ses est-ce bien bon bonne bons bonnes meilleur meilleure meilleurs meilleures
mettre met mets utiliser faudrait falloir possible exactement vraiment quoi chose choses plus moins tres temps
quantite quantites nombre prendre choisir acheter besoin take choose pick buy need ai as avons avez ont avoir comme
how what which why when where who do does did can could should would is are was were the a an of to in for
with and or make prepare cook bake recipe steps step list kinds kind types type different main best good i you
we one it they there this that these those me my your
vont va vais aller veux veut voudrais voudrait aimerais aimerait souhaite souhaiterais sais savoir connaitre
explique expliquer expliquez montre montrer svp stp please want would like tell know explain moi
""".split())
_NUMBER = re.compile(
    r"\d|\b(deux|trois|quatre|cinq|six|sept|huit|neuf|dix|onze|douze|treize|quatorze|quinze|seize|vingt|trente|"
    r"quarante|cinquante|soixante|cent|mille|demi|demie|moitie|quart|dizaine|douzaine|quinzaine|vingtaine|"
    r"centaine|two|three|four|five|six|seven|eight|nine|ten|twenty|hundred|half|dozen)\b|"
    r"\b(une?|one|a) (heure|minute|seconde|nuit|journee|jour|semaine|mois|an|annee|kilo|kilogramme|gramme|litre|"
    r"cuillere|pincee|noix|sachet|verre|tasse|boule|hour|minute|day|week|month|year|pinch|cup|spoon)s?\b",
    re.IGNORECASE)


def fold(text: str) -> str:
    """Lower case, accents and ligatures removed, apostrophes unified."""
    text = unicodedata.normalize("NFKD", text.casefold().replace("œ", "oe").replace("æ", "ae").replace("’", "'"))
    return "".join(ch for ch in text if not unicodedata.combining(ch))


def words(text: str) -> list[str]:
    """The folded words of a text (elided articles split off: « l'avance » → l, avance)."""
    return re.findall(r"[a-z0-9]+", fold(text))


def question_kind(question: str) -> str:
    """One of ``KINDS``: what the question asks for, from its interrogative form."""
    text = " ".join(re.findall(r"[a-z0-9'-]+", fold(question))).replace(" - ", " ")
    for kind, pattern in _KIND_RULES:
        if re.search(pattern, text):
            return kind
    return OTHER


def is_greeting(question: str) -> bool:
    """Only a greeting (« Bonjour ! », « salut ça va ? ») or a single word: nothing to look up yet."""
    found = words(question)
    return len(found) <= 1 or all(word in _GREETINGS for word in found)


def is_follow_up(question: str) -> bool:
    return bool(_FOLLOW_UP.match(fold(question).strip())) and len(words(question)) <= FOLLOW_UP_WORDS


def standalone(question: str, history) -> str:
    """The question to search with: a short follow-up (« Et pour la tatin ? ») is read with the user's previous
    question before it; any other question stands alone."""
    if not is_follow_up(question):
        return question
    previous = [m["content"] for m in history or [] if m.get("role") == "user" and m.get("content", "").strip()]
    return f"{previous[-1].strip()} {question.strip()}" if previous else question


def subject_words(question: str) -> list[str]:
    """The words that name what the question is about (those that ask are left out), folded."""
    return list(dict.fromkeys(w for w in words(question) if w not in _ASKING and len(w) > 1 and not w.isdigit()))


def states_number(text: str) -> bool:
    """Whether the text gives a number (digits, a number word, « une heure »)."""
    return bool(_NUMBER.search(fold(text)))
