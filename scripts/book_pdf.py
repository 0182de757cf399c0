"""Print the built report to one A4 PDF per language, offline, with the system's Chromium.

Each PDF is one document: the pages of ``book/_toc.yml`` in order (the per-run
appendix left out) are joined in the browser into the intro's page, each
starting on a new sheet, so page numbers run on and links between pages become
links inside the PDF.  Only one language is kept: the other language's tab is
removed, and the bilingual headings, captions and table headers ("中文 · English",
"模型 Model") keep their one half.  The Chinese is set in Noto Sans CJK TC from
the locked ``noto-cjk-sans-otc`` package, embedded in the PDF.

    python scripts/book_pdf.py                  # after the HTML build; what make pdf runs
    python scripts/book_pdf.py --if-chromium    # what make report runs: none without Chromium
    python scripts/book_pdf.py --html DIR --out DIR
"""

from __future__ import annotations

import argparse
import functools
import shutil
import sys
import tempfile
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
HTML = BOOK / "_build" / "html"
OUT = BOOK / "_build" / "pdf"
NAME = "fer2013-compression-{language}.pdf"
# The tab's sync id, the PDF's language tag, and the figure label of each language.
LANGUAGES = {"zh": ("zh-TW", "圖"), "en": ("en", "Figure")}
LEFT_OUT = {"appendix"}
CHROMIUMS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def pdf_path(out: Path, sync_id: str) -> Path:
    """Where the PDF of one language goes: ``fer2013-compression-zh-TW.pdf`` or ``-en.pdf``."""
    return out / NAME.format(language=LANGUAGES[sync_id][0])


def toc_pages(toc: Path = BOOK / "_toc.yml") -> list[str]:
    """The book's pages in reading order, the appendix (one page per run) left out."""
    spec = yaml.safe_load(toc.read_text(encoding="utf-8"))
    pages = [spec["root"]]
    for part in spec.get("parts", []):
        pages += [c["file"] for c in part.get("chapters", []) if c["file"] not in LEFT_OUT]
    return pages


def chromium() -> str:
    """The system's Chromium (or Chrome); Playwright's own browser download is never used."""
    for name in CHROMIUMS:
        if found := shutil.which(name):
            return found
    raise FileNotFoundError("make pdf prints with Chromium and found none on the PATH "
                            f"(looked for {', '.join(CHROMIUMS)}): on Debian or Ubuntu, "
                            "sudo apt install chromium")


def fontconfig(folder: Path) -> Path:
    """A fontconfig file that adds the locked Noto Sans CJK to the system's fonts."""
    import noto_cjk_sans_otc

    fonts = Path(noto_cjk_sans_otc.__file__).parent
    conf = folder / "fonts.conf"
    conf.write_text(f"""<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig>
  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>
  <dir>{fonts}</dir>
  <cachedir>{folder / "cache"}</cachedir>
</fontconfig>
""", encoding="utf-8")
    return conf


PRINT_CSS = """
@page { size: A4; margin: 16mm 15mm 18mm 15mm; }
html, body { font-family: "Noto Sans CJK TC", "DejaVu Sans", sans-serif !important;
             font-size: 10.5pt; background: white !important; }
.bd-header, .bd-sidebar-primary, .bd-sidebar-secondary, .bd-footer, .bd-footer-article,
.bd-header-article, .prev-next-area, .headerlink, #pst-back-to-top, .pst-async-banner-revealer,
.sd-tab-set > input, .sd-tab-set > label, .skip-link, .search-button-field, button,
#jb-print-docs-body, .bd-footer-content { display: none !important; }
.bd-main, .bd-content, .bd-article-container, .bd-article, .bd-page-width {
  max-width: none !important; width: auto !important; padding: 0 !important; margin: 0 !important; }
.sd-tab-set { border: none !important; }
.sd-tab-content { display: block !important; padding: 0 !important; border: none !important;
                  box-shadow: none !important; }
.print-page + .print-page { break-before: page; }
.print-page h1 { display: block !important; font-size: 17pt; margin: 0 0 0.6em; }
h1, h2, h3 { break-after: avoid; }
.onlyprint { display: none !important; }
figure, .cell_output img, img, tr, .admonition, .sd-card, pre { break-inside: avoid; }
.bd-article table { display: table !important; overflow: visible !important;
                    font-size: 8.5pt !important; break-inside: auto; }
thead { display: table-header-group; }
img { max-width: 100% !important; height: auto !important; }
a { color: #1a4f8b; }
"""

# Runs in the page: keep one language in an element (tabs, bilingual headings, captions,
# table headers) and join the other pages into this one.
PREPARE_JS = r"""
([lang, figureWord, pages, title]) => {
  const CJK = /[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]/;
  // The offset where the English half of "中文 · English" or "中文 English" starts.
  function split(text) {
    const dot = text.indexOf(" · ");
    if (dot >= 0) return [dot, dot + 3];
    let last = -1;
    for (let i = 0; i < text.length; i++) if (CJK.test(text[i])) last = i;
    if (last < 0 || !/[A-Za-z]{2,}/.test(text.slice(last + 1))) return null;
    return [last + 1, last + 1];
  }
  function point(root, offset) {
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    let node, seen = 0;
    while ((node = walker.nextNode())) {
      if (seen + node.length >= offset) return [node, offset - seen];
      seen += node.length;
    }
    return null;
  }
  function keepHalf(el, dotOnly = false) {
    const text = el.textContent;
    const cut = dotOnly && !text.includes(" · ") ? null : split(text);
    const number = /^H\d$/.test(el.tagName) && (text.match(/^(Q\d+)\s/) || [])[1];
    if (!cut) return;
    const range = el.ownerDocument.createRange();
    if (lang === "zh") {
      const [node, at] = point(el, cut[0]);
      range.setStart(node, at);
      range.setEndAfter(el.lastChild);
    } else {
      const [node, at] = point(el, cut[1]);
      range.setStartBefore(el.firstChild);
      range.setEnd(node, at);
    }
    range.deleteContents();
    // "Q2 MobileNet 的… · MobileNet: …": the question's number heads both halves.
    if (number && !el.textContent.trim().startsWith(number))
      el.insertBefore(el.ownerDocument.createTextNode(number + " "), el.firstChild);
  }
  function prepare(root, page) {
    for (const set of root.querySelectorAll(".sd-tab-set")) {
      const labels = [...set.querySelectorAll(":scope > label")];
      const mine = labels.filter(l => l.dataset.syncId === lang);
      if (!mine.length) continue;
      for (const label of labels) {
        const content = label.nextElementSibling;
        if (label.dataset.syncId !== lang && content) content.remove();
      }
    }
    for (const number of root.querySelectorAll(".caption-number"))
      number.textContent = number.textContent.replace(/圖／Figure/, figureWord);
    const bilingual = "h1, h2, h3, h4, figcaption .caption-text, p.admonition-title, th, td, " +
      "caption, .toctree-wrapper a, dt, .sd-card-title, .sd-summary-text, .output pre, " +
      ".cell_output p";
    for (const el of root.querySelectorAll(bilingual)) keepHalf(el);
    // A short label between outputs, "縮小的 HW3 CNN · Shrunk HW3 CNN", outside the tabs.
    for (const el of root.querySelectorAll("p"))
      if (!el.closest(".sd-tab-content")) keepHalf(el, true);
    // A header's bilingual aside, "Private（我們 ours）": one language inside the brackets.
    const aside = /（([㐀-鿿][^（）]*?)\s+([A-Za-z][^（）㐀-鿿]*)）/g;
    for (const el of root.querySelectorAll("th, td")) {
      const walker = el.ownerDocument.createTreeWalker(el, NodeFilter.SHOW_TEXT);
      for (let node; (node = walker.nextNode());)
        node.nodeValue = node.nodeValue.replace(aside, lang === "zh" ? "（$1）" : " ($2)");
    }
    // Ids unique across the joined pages, and links between them kept inside the PDF.
    for (const el of root.querySelectorAll("[id]")) el.id = `${page}--${el.id}`;
    for (const a of root.querySelectorAll("a[href]")) {
      const href = a.getAttribute("href");
      const m = href.match(/^([\w-]+)\.html(?:#(.*))?$/);
      if (m && pages.includes(m[1])) a.setAttribute("href", `#${m[1]}--${m[2] || "top"}`);
      else if (href.startsWith("#")) a.setAttribute("href", `#${page}--${href.slice(1)}`);
    }
  }
  return (async () => {
    document.documentElement.lang = lang === "zh" ? "zh-TW" : "en";
    document.title = title;  // the PDF's own title, in its language
    const article = document.querySelector("article.bd-article");
    const first = document.createElement("div");
    first.className = "print-page";
    first.id = `${pages[0]}--top`;
    first.append(...article.childNodes);
    article.append(first);
    prepare(first, pages[0]);
    for (const page of pages.slice(1)) {
      const html = await (await fetch(`${page}.html`)).text();
      const doc = new DOMParser().parseFromString(html, "text/html");
      const part = document.createElement("div");
      part.className = "print-page";
      part.append(...doc.querySelector("article.bd-article").childNodes);
      prepare(part, page);
      part.id = `${page}--top`;
      article.append(part);
    }
    await Promise.all([...document.images].map(img => img.complete ? null :
      new Promise(done => { img.onload = img.onerror = done; })));
    await document.fonts.ready;
    return document.querySelectorAll("article img").length;
  })();
}
"""

FOOTER = ('<div style="width:100%;font-size:8px;color:#555;text-align:center;'
          'font-family:sans-serif"><span class="pageNumber"></span> / '
          '<span class="totalPages"></span></div>')


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def build_pdfs(html: Path = HTML, out: Path = OUT) -> dict[str, Path]:
    """Both PDFs from the built HTML; returns them by tab sync id ("zh", "en")."""
    from playwright.sync_api import sync_playwright

    from helpers.atomic import atomic_path

    html = Path(html)
    pages = toc_pages()
    missing = [p for p in pages if not (html / f"{p}.html").exists()]
    if missing:
        raise FileNotFoundError(f"{html} lacks {', '.join(p + '.html' for p in missing)}: "
                                "build the report first (make report)")
    browser_path = chromium()
    zh_title, en_title = yaml.safe_load((BOOK / "_config.yml").read_text(encoding="utf-8"))[
        "title"].split(" · ")
    titles = {"zh": zh_title, "en": en_title}
    out.mkdir(parents=True, exist_ok=True)
    server = ThreadingHTTPServer(("127.0.0.1", 0),
                                 functools.partial(_Quiet, directory=str(html)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    written: dict[str, Path] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="book-pdf-") as tmp, sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=browser_path, headless=True,
                env={"FONTCONFIG_FILE": str(fontconfig(Path(tmp))), "HOME": tmp},
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                      "--disable-component-update", "--disable-sync", "--no-first-run"])
            for sync_id, (tag, figure_word) in LANGUAGES.items():
                page = browser.new_page(viewport={"width": 1000, "height": 1400})
                page.goto(f"http://127.0.0.1:{server.server_address[1]}/{pages[0]}.html")
                page.add_style_tag(content=PRINT_CSS)
                page.evaluate(PREPARE_JS, [sync_id, figure_word, pages, titles[sync_id]])
                page.emulate_media(media="print")
                target = pdf_path(out, sync_id)
                with atomic_path(target, suffix=".pdf") as tmp_pdf:
                    page.pdf(path=str(tmp_pdf), format="A4", print_background=True,
                             display_header_footer=True, header_template="<span></span>",
                             footer_template=FOOTER, outline=True, tagged=True,
                             margin={"top": "16mm", "bottom": "18mm",
                                     "left": "15mm", "right": "15mm"})
                page.close()
                written[sync_id] = target
            browser.close()
    finally:
        server.shutdown()
    return written


def publish(pdfs: dict[str, Path], html: Path = HTML) -> None:
    """Copy the PDFs next to the pages, where the intro's download links point."""
    folder = Path(html) / "pdf"
    folder.mkdir(exist_ok=True)
    for path in pdfs.values():
        shutil.copyfile(path, folder / path.name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--html", type=Path, default=HTML, help="the built HTML (make report)")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--if-chromium", action="store_true",
                        help="where no Chromium is installed, say so and stop without an error "
                             "(what make report does; make pdf insists)")
    args = parser.parse_args(argv)
    if args.if_chromium:
        try:
            chromium()
        except FileNotFoundError as exc:
            print(f"no PDFs: {exc}; the intro's download links stay empty until then",
                  file=sys.stderr)
            return 0
    try:
        pdfs = build_pdfs(args.html, args.out)
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    publish(pdfs, args.html)
    for path in pdfs.values():
        print(f"{path} ({path.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
