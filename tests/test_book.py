"""The report: numbers from data, a warning-free build, and a real browser."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from helpers.report import REFERENCE, LISTING_DENSE30_PARAMS

BOOK = Path(__file__).resolve().parents[1] / "book"
PAGES = ["intro", "q1_reference_models", "q2_mobilenet", "q3_plain_cnn", "q4_equal_budget",
         "reproduce", "appendix"]
CJK = re.compile(r"[\u4e00-\u9fff]")


def prose(text: str) -> str:
    """A MyST page without its front matter, code cells and inline code."""
    text = re.sub(r"\A---\n.*?\n---\n", "", text, flags=re.S)
    text = re.sub(r"^(`{3,})\{code-cell\}.*?^\1\s*$", "", text, flags=re.S | re.M)
    text = re.sub(r"^(`{3,}).*?^\1\s*$", "", text, flags=re.S | re.M)
    return re.sub(r"`[^`]*`", "", text)


def allowed_literals() -> set[str]:
    allowed = set()
    for ref in REFERENCE.values():
        for value in ref.values():
            allowed |= {f"{value:,}", str(value)} if isinstance(value, int) else {f"{value:.5f}"}
    return allowed | {f"{LISTING_DENSE30_PARAMS:,}"}


# Accuracies, counts, percentages, decimals (percentage points, hours) and ratios;
# a Python version ("Python 3.11") is not a result.
NUMBER = re.compile(r"(?<![\w.])(?<!Python )"
                    r"(\d+(?:\.\d+)?%|\d+\.\d+×?|\d+×|\d{1,3}(?:,\d{3})+|\d{4,})(?![\w])")


def test_prose_has_no_hand_typed_results():
    allowed = allowed_literals()
    offenders = []
    for page in sorted(BOOK.glob("*.md")):
        for literal in NUMBER.findall(prose(page.read_text(encoding="utf-8"))):
            if literal not in allowed:
                offenders.append(f"{page.name}: {literal}")
    assert not offenders, f"numbers typed by hand (glue them from results): {offenders}"


def test_the_prose_check_can_fail():
    assert NUMBER.findall(prose("We got 0.6712 with 51,234 parameters, 12.5% better.")) == [
        "0.6712", "51,234", "12.5%"]
    assert NUMBER.findall(prose("A gap of 1.23 points, 2.4× the MACs, 3× faster, in 57.48 h.")) == [
        "1.23", "2.4×", "3×", "57.48"]
    assert NUMBER.findall(prose("48×48 faces, 7 classes, on Python 3.11.")) == []
    assert NUMBER.findall(prose("```{code-cell} ipython3\nx = 0.6712\n```\n")) == []


TAB_SET = re.compile(r"^(:{4,})\{tab-set\}\n(.*?)^\1\s*$", re.S | re.M)


def tab_sets_missing_a_language(text: str) -> list[str]:
    """The tab-sets of a page that lack a Chinese or an English tab with prose in it."""
    bad = []
    for match in TAB_SET.finditer(text):
        tabs = re.split(r"^:{3}\{tab-item\}", match.group(2), flags=re.M)[1:]
        languages = {re.search(r":sync: (\w+)", t).group(1) for t in tabs
                     if re.search(r":sync: \w+", t) and len(CJK.sub("xx", t).strip()) > 40}
        if not {"zh", "en"} <= languages:
            bad.append(match.group(2)[:80])
    return bad


def test_every_tab_set_has_both_languages():
    pages = sorted(BOOK.glob("*.md"))
    assert sum(len(TAB_SET.findall(p.read_text(encoding="utf-8"))) for p in pages) >= len(PAGES)
    offenders = {p.name: bad for p in pages
                 if (bad := tab_sets_missing_a_language(p.read_text(encoding="utf-8")))}
    assert not offenders, f"tab-sets without both a zh and an en tab: {offenders}"


def test_the_language_check_can_fail():
    one_sided = "::::{tab-set}\n:::{tab-item} 中文\n:sync: zh\n" + "中文內容。" * 20 + "\n:::\n::::\n"
    assert tab_sets_missing_a_language(one_sided)
    both = one_sided.replace("::::\n", ":::{tab-item} English\n:sync: en\n" + "English. " * 10
                             + "\n:::\n::::\n")
    assert tab_sets_missing_a_language(both) == []


@pytest.fixture(scope="session")
def built_book(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("book")
    proc = subprocess.run(
        [str(Path(sys.executable).with_name("jupyter-book")), "build", str(BOOK),
         "--path-output", str(out), "-W", "--keep-going"],
        capture_output=True, text=True, timeout=1500)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    warnings = [l for l in proc.stdout.splitlines() + proc.stderr.splitlines()
                if "WARNING:" in l and "absl" not in l and "IPKernelApp" not in l]
    assert not warnings, warnings
    return out / "_build" / "html"


@pytest.mark.slow
def test_every_page_is_built_bilingual_with_its_images(built_book):
    for page in PAGES:
        html_path = built_book / f"{page}.html"
        assert html_path.exists(), page
        html = html_path.read_text(encoding="utf-8")
        body = re.sub(r"<[^>]+>", " ", html.split('<article', 1)[-1])
        assert CJK.search(body), f"{page}: no Chinese text"
        assert re.search(r"\b(the|and|of)\b", body), f"{page}: no English text"
        for src in re.findall(r'<img[^>]+src="([^"]+)"', html):
            if src.startswith(("http", "data:")):
                continue
            assert (html_path.parent / src).resolve().exists(), f"{page}: missing image {src}"
    assert "missing from" not in (built_book / "q2_mobilenet.html").read_text()


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep the test output readable
        pass


@pytest.fixture
def served(built_book):
    handler = partial(QuietHandler, directory=str(built_book))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.mark.slow
@pytest.mark.browser
def test_language_choice_persists_in_a_real_browser(served, tmp_path):
    chromium = _chromium()
    if not chromium:
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{served}/intro.html")
        zh = page.locator(".sd-tab-content").filter(has_text="本報告比較").first
        en = page.locator(".sd-tab-content").filter(has_text="This report compares").first
        assert zh.is_visible() and not en.is_visible(), "default language should be 中文"
        page.locator("label.sd-tab-label", has_text="English").first.click()
        assert en.is_visible() and not zh.is_visible()
        page.screenshot(path=str(tmp_path / "intro-en.png"), full_page=True)

        page.goto(f"{served}/q2_mobilenet.html")
        en2 = page.locator(".sd-tab-content").filter(has_text="The figure shows").first
        zh2 = page.locator(".sd-tab-content").filter(has_text="下圖是").first
        assert en2.is_visible() and not zh2.is_visible(), "the language choice did not persist"

        for name in ("intro", "q1_reference_models", "q2_mobilenet", "q3_plain_cnn",
                     "q4_equal_budget"):
            page.goto(f"{served}/{name}.html")
            page.wait_for_load_state("load")
            broken = page.evaluate(
                "() => [...document.images].filter(i => !(i.complete && i.naturalWidth > 0))"
                ".map(i => i.src)")
            assert broken == [], f"{name}: images that did not load: {broken}"
        phone = browser.new_page(viewport={"width": 390, "height": 844})
        phone.goto(f"{served}/q1_reference_models.html")
        overflow = phone.evaluate("() => document.documentElement.scrollWidth")
        assert overflow <= 420, f"the page is {overflow}px wide on a phone"
        browser.close()


def test_every_recorded_training_notebook_is_valid_for_the_appendix():
    """The book renders results/notebooks/; a cell without an id (say, one added by a
    script) is a warning today and an error in later nbformat versions."""
    import nbformat

    notebooks = sorted((Path(__file__).resolve().parents[1] / "results" / "notebooks").glob("*.ipynb"))
    assert notebooks
    for path in notebooks:
        raw = json.loads(path.read_text(encoding="utf-8"))
        without_id = [i for i, cell in enumerate(raw["cells"]) if "id" not in cell]
        assert not without_id, f"{path.name}: cells {without_id} have no id"
        nbformat.validate(nbformat.read(path, as_version=4))
