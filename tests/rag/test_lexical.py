"""BM25 with French normalisation: accents, plurals, elisions and word families meet."""
import numpy as np

from dllab.rag.lexical import BM25, tokens


def test_tokens_fold_accents_elisions_plurals_and_endings():
    assert tokens("L'œuf") == tokens("oeufs")
    assert tokens("caramélisée") == tokens("caraméliser") == tokens("caramélisation")
    assert tokens("Les pommes") == tokens("pomme")
    assert tokens("noircir") == tokens("noircissent") and tokens("Disposez") == tokens("disposer")
    assert tokens("élevé") == tokens("eleve")  # accents folded after stemming
    assert tokens("Quel est le secret d'une tarte ?") == ["secret", "tart"]


def test_bm25_ranks_the_text_sharing_rare_words_first():
    texts = ["La tarte Tatin est caramélisée et renversée.", "La tarte normande contient de la crème.",
             "La tarte fine se fait avec une pâte feuilletée.", ""]
    bm25 = BM25(texts)
    scores = bm25.scores("Comment caraméliser les pommes d'une Tatin ?")
    assert scores.shape == (4,) and int(np.argmax(scores)) == 0
    assert scores[1] == scores[2] == scores[3] == 0  # "tarte" alone is not in the question
    assert not BM25(texts).scores("rien à voir").any()
    assert BM25([]).scores("tarte").shape == (0,)
