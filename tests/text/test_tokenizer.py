import pytest

from dllab.errors import DataError, ParamError
from dllab.text.config import TokenizerParams
from dllab.text.tokenizer import Tokenizer, minimum_vocab_size, train_tokenizer

ROUND_TRIP = [
    "", " ", "  ", "\n", "\n\n\n", "\t", " \t \n ", "a", "Hello, world!", "  leading and trailing  ",
    "multiple   spaces   inside", "First Citizen:\nBefore we proceed", "Ça va? Très bien, merci.",
    "élève, naïve, cœur, Æsir, straße", "日本語のテキスト", "Привет, мир", "مرحبا",
    "emoji 🎉🚀 and 👩‍👩‍👧 family",
    "mixed\r\nline\rendings", "tabs\tand\u00a0non-breaking\u2009spaces", "zero\u200bwidth", "x" * 500,
    "1234567890 3.14159 -42", "<unk> <s> </s> ▁ literal markers", "\x00\x01 control \x7f", "🜂" * 3,
]


@pytest.mark.parametrize("sample", ROUND_TRIP)
def test_decode_encode_round_trip(tokenizer, sample):
    assert tokenizer.decode(tokenizer.encode(sample)) == sample


def test_never_unknown_thanks_to_byte_fallback(tokenizer):
    ids = tokenizer.encode("Quelle journée 🌞 Ω")
    assert tokenizer.sp.unk_id() not in ids


def test_bpe_merges_common_words(tokenizer):
    assert len(tokenizer.encode("First Citizen")) < len("First Citizen") / 2


def test_encode_long_matches_encode(tokenizer, text):
    import dllab.text.tokenizer as module

    short_blocks = module.ENCODE_BLOCK_CHARS
    module.ENCODE_BLOCK_CHARS = 50  # force many blocks
    try:
        assert tokenizer.encode_long(text) == tokenizer.encode(text)
    finally:
        module.ENCODE_BLOCK_CHARS = short_blocks


def test_vocab_too_small_names_the_key(tmp_path, text):
    low = minimum_vocab_size(text)
    with pytest.raises(ParamError, match=f"^params.yaml: tokenizer.vocab_size = {low} is too small"):
        train_tokenizer(text, TokenizerParams(vocab_size=low, max_lines=100), tmp_path)


def test_vocab_too_large_names_the_key_before_training(tmp_path, text):
    params = TokenizerParams.from_mapping({"vocab_size": 60000, "max_lines": 100}, source="exp.yaml")
    with pytest.raises(ParamError, match="^exp.yaml: tokenizer.vocab_size = 60000 is too large"):  # the --params file
        train_tokenizer(text, params, tmp_path)
    assert not list(tmp_path.iterdir())


def test_missing_tokenizer_says_which_stage_to_run(tmp_path):
    with pytest.raises(DataError, match="tokenizer_train"):
        Tokenizer(tmp_path)


def test_same_text_and_params_give_a_byte_identical_tokenizer(tmp_path, text, tokenizer):
    again = train_tokenizer(text, TokenizerParams(vocab_size=320, max_lines=10_000), tmp_path)
    assert again.read_bytes() == tokenizer.path.read_bytes()
