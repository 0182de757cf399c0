"""The theme's labels as Taiwan writes them.

pydata-sphinx-theme and sphinx-book-theme ship zh_TW catalogs that still hold
Simplified strings (跳转至主要内容, 回到顶部) and leave some labels in English; this
extension puts a small Taiwan table in front of the templates' translations.
"""

from __future__ import annotations

import gettext

LABELS = {
    "Skip to main content": "跳至主要內容",
    "Back to top": "回到頂端",
    "previous page": "上一頁",
    "next page": "下一頁",
    "Previous": "上一頁",
    "Next": "下一頁",
    "Current page": "目前頁面",
    "Breadcrumb": "頁面導覽",
    "Site navigation": "網站導覽",
    "Section Navigation": "本節導覽",
    "Search this book...": "搜尋本書…",
    "Search": "搜尋",
    "Color mode": "色彩模式",
    "Light": "亮色",
    "Dark": "暗色",
    "System Settings": "依系統設定",
    "Toggle primary sidebar": "開關左側欄",
    "Toggle secondary sidebar": "開關右側欄",
    "Contents": "目錄",
    "On this page": "本頁內容",
    "Download this page": "下載此頁",
    "Fullscreen mode": "全螢幕模式",
    "Print to PDF": "列印成 PDF",
    "By": "作者",
    "Copyright": "版權所有",
    "Version warning": "版本警告",
}


class TaiwanLabels(gettext.NullTranslations):
    """Looks a message up in ``LABELS`` first, then in the theme's own catalogs."""

    def gettext(self, message):
        if message in LABELS:
            return LABELS[message]
        return self._fallback.gettext(message) if self._fallback else message

    def ngettext(self, singular, plural, n):
        return self._fallback.ngettext(singular, plural, n) if self._fallback else (
            singular if n == 1 else plural)


def install(app) -> None:
    """Put the table in front of the templates' translator (HTML builders only)."""
    if not (app.config.language or "").lower().startswith("zh_tw"):
        return
    templates = getattr(app.builder, "templates", None)
    if templates is None or not hasattr(templates, "environment"):
        return
    labels = TaiwanLabels()
    labels.add_fallback(app.translator)
    templates.environment.install_gettext_translations(labels)


def search_text(app, config) -> None:
    """Jupyter Book sets the search box's text in English, outside any catalog."""
    if (config.language or "").lower().startswith("zh_tw"):
        config.html_theme_options["search_bar_text"] = LABELS["Search this book..."]


def setup(app):
    app.connect("config-inited", search_text)
    app.connect("builder-inited", install)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
