"""RAG test helpers: PDFs made on the fly, small document folders, and a tiny random embedding model."""
from __future__ import annotations

from pathlib import Path

import pytest

from dllab.rag.config import RagParams

SMALL_PARAMS = RagParams(chunk_size=300, chunk_overlap=60, embedding_model="default", batch_size=16,
                         strict=False, lexical_weight=0.5, chroma_url="")

RECIPE = (
    "La pâte brisée se prépare avec 250 g de farine, 125 g de beurre froid, une pincée de sel et un peu d'eau. "
    "On la laisse reposer une heure au réfrigérateur avant de l'étaler.\n\n"
    "Les pommes sont épluchées, coupées en lamelles fines et disposées en rosace sur la compote. "
    "On saupoudre de sucre et on parsème de beurre avant d'enfourner.\n\n"
    "La tarte cuit quarante minutes à 190 degrés, dans le bas du four, jusqu'à ce que la pâte soit dorée.\n"
)
HISTORY = (
    "La tarte Tatin est née à Lamotte-Beuvron, en Sologne, dans l'hôtel des soeurs Tatin. "
    "Les pommes y cuisent dans un caramel sous la pâte, et l'on retourne la tarte pour la servir.\n\n"
    "Le plus ancien texte connu qui décrit une tourte aux pommes est un recueil anglais de 1381.\n"
)
PDF_PAGES = [
    "Page one. La tarte normande est garnie d'une crème aux oeufs parfumée au calvados.",
    "Page two. La tarte alsacienne porte une crème prise à la cannelle et à la vanille.",
    "Page three. La tarte amandine cache une crème d'amande sous les pommes.",
]


def make_pdf(path: Path, pages: list[str], password: str | None = None) -> Path:
    """A PDF with one text page per item (core font, so Latin-1 text only); encrypted if ``password``."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("helvetica", size=12)
    for text in pages:
        pdf.add_page()
        pdf.multi_cell(0, 6, text)
    if password is not None:
        pdf.set_encryption(owner_password="owner", user_password=password)
    path.parent.mkdir(parents=True, exist_ok=True)
    pdf.output(str(path))
    return path


def make_scan_pdf(path: Path, pages: int = 2) -> Path:
    """A PDF whose pages hold only drawings, like a scan without OCR: no text layer."""
    from fpdf import FPDF

    pdf = FPDF()
    for i in range(pages):
        pdf.add_page()
        pdf.set_fill_color(30 * i, 80, 120)
        pdf.rect(20, 20, 170, 250, style="F")
    path.parent.mkdir(parents=True, exist_ok=True)
    pdf.output(str(path))
    return path


@pytest.fixture
def docs(tmp_path) -> Path:
    """A documents folder: one text file, one 3-page PDF."""
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "recette.txt").write_text(RECIPE, encoding="utf-8")
    make_pdf(folder / "variantes.pdf", PDF_PAGES)
    return folder


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> str:
    """A sentence-transformers model with random weights (dimension 32), saved locally: no download."""
    from sentence_transformers import SentenceTransformer, models
    from transformers import AutoTokenizer, BertConfig, BertModel

    from dllab.rag.embeddings import resolve_model

    folder = tmp_path_factory.mktemp("tiny-model")
    config = BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=512)
    BertModel(config).save_pretrained(folder / "bert")
    AutoTokenizer.from_pretrained(resolve_model("default")).save_pretrained(folder / "bert")
    transformer = models.Transformer(str(folder / "bert"), max_seq_length=128)
    pooling = models.Pooling(transformer.get_embedding_dimension(), pooling_mode="mean")
    SentenceTransformer(modules=[transformer, pooling], device="cpu").save(str(folder / "model"))
    return str(folder / "model")


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory):
    """`chroma run` on a free loopback port with its own data folder; its URL. Always killed."""
    import subprocess
    import tempfile

    from web.client import free_port, wait_until_answering
    from tests.conftest import BIN

    port = free_port()
    with tempfile.TemporaryFile(mode="w+", encoding="utf-8") as log:
        process = subprocess.Popen([str(BIN / "chroma"), "run", "--path", str(tmp_path_factory.mktemp("chroma-data")),
                                    "--host", "127.0.0.1", "--port", str(port)], stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_until_answering(f"http://127.0.0.1:{port}/api/v2/heartbeat", process, log, timeout=60)
            yield f"http://127.0.0.1:{port}"
        finally:
            process.kill()
            process.wait()
