import subprocess
import sys

import pytest

from dllab.errors import UserError
from dllab.text.checkpoint import save_checkpoint
from dllab.text.generate import generate, generate_text_bpe, generate_text_transformer
from tests.conftest import REPO


@pytest.mark.parametrize("name", ["tiny_transformer", "tiny_lstm"])
def test_same_seed_same_text_other_seed_other_text(name, request, tokenizer):
    model = request.getfixturevalue(name)
    first = generate(model, tokenizer, "First Citizen:", 30, temperature=1.0, top_k=50, seed=7)
    again = generate(model, tokenizer, "First Citizen:", 30, temperature=1.0, top_k=50, seed=7)
    other = generate(model, tokenizer, "First Citizen:", 30, temperature=1.0, top_k=50, seed=8)
    assert first == again and first != other


@pytest.mark.parametrize("name", ["tiny_transformer", "tiny_lstm"])
@pytest.mark.parametrize("prompt", ["", "Zyxwvut qoph 🌞 journée", "All: speak " * 40])
def test_empty_unseen_and_too_long_prompts_work(name, prompt, request, tokenizer):
    model = request.getfixturevalue(name)
    assert len(tokenizer.encode(prompt)) != 16
    text = generate(model, tokenizer, prompt, 12, temperature=0.8, top_k=20, seed=0)
    assert isinstance(text, str) and text


def test_top_k_of_one_is_greedy_whatever_the_seed(tiny_transformer, tokenizer):
    texts = {generate(tiny_transformer, tokenizer, "Speak", 10, temperature=1.0, top_k=1, seed=s) for s in range(3)}
    assert len(texts) == 1


@pytest.mark.parametrize("kwargs, message", [({"temperature": 0}, "temperature = 0"),
                                             ({"temperature": -1}, "temperature = -1"),
                                             ({"top_k": 0}, "top_k = 0")])
def test_bad_sampling_settings_are_refused(tiny_lstm, tokenizer, kwargs, message):
    with pytest.raises(UserError, match=message):
        generate(tiny_lstm, tokenizer, "x", 5, **{"temperature": 1.0, "top_k": 5, **kwargs})


def test_named_functions_return_prompt_and_continuation(tmp_path, tiny_lstm, tiny_transformer, tokenizer):
    save_checkpoint(tiny_lstm, "lstm", tmp_path / "lstm.pt", extra={"summary": {}})
    save_checkpoint(tiny_transformer, "transformer", tmp_path / "transformer.pt", extra={"summary": {}})
    bpe = generate_text_bpe("All:", 8, seed=1, model_path=tmp_path / "lstm.pt", tokenizer_path=tokenizer.path)
    gpt = generate_text_transformer("All:", 8, seed=1, model_path=tmp_path / "transformer.pt",
                                    tokenizer_path=tokenizer.path)
    assert bpe.startswith("All:") and gpt.startswith("All:") and len(bpe) > 4 and len(gpt) > 4


def cli(*args):
    return subprocess.run([sys.executable, "-m", "dllab.text.generate", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=120)


@pytest.mark.parametrize("args, message", [
    (["--model", "gru"], "error: unknown model 'gru'; choose one of: lstm, transformer"),
    (["--model", "lstm", "--temperature", "0"], "error: temperature = 0.0 is not allowed"),
    (["--model", "transformer", "--top-k", "0"], "error: top_k = 0 is not allowed"),
    (["--model", "lstm", "--checkpoint", "/nonexistent/model.pt"], "error: /nonexistent/model.pt: model not found"),
])
def test_cli_errors_exit_2_with_one_line(args, message):
    result = cli(*args)
    assert result.returncode == 2
    assert result.stderr.strip() == message or result.stderr.strip().startswith(message)
    assert "Traceback" not in result.stderr


def test_cli_prints_the_prompt_and_its_continuation(tmp_path, tiny_transformer, tokenizer):
    save_checkpoint(tiny_transformer, "transformer", tmp_path / "model.pt", extra={"summary": {}})
    args = ["--model", "transformer", "--checkpoint", str(tmp_path / "model.pt"), "--tokenizer", str(tokenizer.path),
            "--prompt", "First Citizen:", "--max-new-tokens", "12", "--seed", "3"]
    first, second = cli(*args), cli(*args)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("First Citizen:") and first.stdout == second.stdout


def test_interleaved_generators_leave_autograd_as_they_found_it(tiny_lstm, tiny_transformer, tokenizer):
    # The race takes one step of each in turn; a no_grad held across the yields used to leave it off.
    import torch

    from dllab.text.generate import sample

    first, second = sample(tiny_lstm, tokenizer, "ROMEO:", 3), sample(tiny_transformer, tokenizer, "ROMEO:", 3)
    for _ in range(3):
        next(first), next(second)
        assert torch.is_grad_enabled()
    list(first), list(second)
    assert torch.is_grad_enabled()
