"""A search shown from the inside (the lab page's retrieval section): each passage's dense, lexical and
fused scores and its best sentence, and the query's checks."""
import pytest

from dllab.errors import UserError
from dllab.rag.explain import MAX_K, explained_search
from web.schemas import parse_search_args
from dllab.rag.search import Retriever
from tests.rag.test_search import index  # noqa: F401  (the module's small real index)


def test_each_passage_has_its_scores_and_best_sentence(index):  # noqa: F811
    retriever = Retriever.open(index)
    try:
        results = explained_search(retriever, "Quelle crème pour la tarte alsacienne ?", 3)
        pure_dense = retriever.search("Quelle crème pour la tarte alsacienne ?", 3, lexical_weight=0.0)
    finally:
        retriever.close()
    first = results[0]
    assert (first["file"], first["page"], first["rank"]) == ("variantes.pdf", 2, 1)
    # « Page two. » is too short to be quoted alone: it goes with the sentence after it
    assert first["sentence"]["text"] == "Page two. La tarte alsacienne porte une crème prise à la cannelle et à la vanille."
    assert first["text"][first["sentence"]["start"]:first["sentence"]["end"]] == first["sentence"]["text"]
    assert first["scores"]["lexical"] > 0 and 0 < first["scores"]["dense"] <= 1
    # The dense score is the chunk's cosine: ranking by it alone orders the chunks as a pure dense search.
    by_dense = sorted(results, key=lambda r: -r["scores"]["dense"])
    assert [r["text"] for r in by_dense][:1] == [pure_dense[0].text]


def test_the_query_string_is_checked():
    assert parse_search_args({"q": "tarte", "k": "7"}) == ("tarte", 7)
    assert parse_search_args({"q": "tarte"}) == ("tarte", 4)
    for args, fragment in [({}, "q is empty"), ({"q": "x", "k": str(MAX_K + 1)}, "k = '21'"),
                           ({"q": "x", "k": "1e3"}, "k = '1e3'"), ({"q": "x", "page": "2"}, "unknown parameter")]:
        with pytest.raises(UserError, match=fragment):
            parse_search_args(args)
