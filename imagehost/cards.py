"""What a gallery card shows: the title, the facts line, and the link and embed snippets.

Pure text; the template escapes everything it prints, so nothing here is HTML-escaped.
"""

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from .database import ImageRecord
from .i18n.formats import Translate, date_time, same, size, time_left
from .i18n.languages import N_
from .images.thumbnail import SIDE as THUMB_SIDE
from .images.thumbnail import fit

_MARKDOWN_ALT_UNSAFE = re.compile(r"[\[\]\\\r\n]")
_BBCODE_UNSAFE = re.compile(r"[\[\]]")


@dataclass(frozen=True)
class Snippet:
    key: str  # "link", "markdown", "bbcode", "html": part of the field's id
    label: str
    text: str


@dataclass(frozen=True)
class Card:
    record: ImageRecord
    url: str
    thumbnail_url: str
    title: str
    thumb_width: int
    thumb_height: int
    page_url: str
    snippets: list[Snippet]

    @property
    def stem(self) -> str:
        return self.record.stem


def thumb_box(width: int, height: int, side: int = THUMB_SIDE) -> tuple[int, int]:
    """The thumbnail's size (fit in `side`, never upscaled), for the <img> size hints."""
    return fit((max(width, 1), max(height, 1)), side)


def _attribute(text: str) -> str:
    return text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


def embed_snippets(url: str, title: str, page_url: str) -> list[Snippet]:
    """The direct link, then Markdown, BBCode and HTML that embed the image, then the link to
    its page (which chat apps unfold into a preview)."""
    return [
        Snippet("link", N_("Direct link"), url),
        Snippet("markdown", "Markdown", f"![{_MARKDOWN_ALT_UNSAFE.sub('', title)}]({url})"),
        Snippet("bbcode", "BBCode", f"[img]{_BBCODE_UNSAFE.sub('', url)}[/img]"),
        Snippet("html", "HTML", f'<img src="{_attribute(url)}" alt="{_attribute(title)}">'),
        Snippet("page", N_("Page link"), page_url),
    ]


def facts(record: ImageRecord, language: str = "en", translate: Translate = same) -> str:
    """The line of facts under an image wherever it is shown: "PNG · 1200×800 · 1.5 KiB"
    (1,5 КиБ in Russian)."""
    stored = size(record.size, language, translate)
    return f"{record.format.upper()} · {record.width}×{record.height} · {stored}"


def expiry_note(
    record: ImageRecord, language: str = "en", translate: Translate = same, now=None
) -> str:
    """When an image is deleted by itself: "Expires in 3 hours (Dec 1, 2026, 3:24:00 PM UTC)";
    "" for one kept until deleted."""
    if record.expires_at is None:
        return ""
    return translate(N_("Expires {when} ({date} UTC)")).format(
        when=time_left(record.expires_at, now or datetime.now(UTC), language),
        date=date_time(record.expires_at, language),
    )


def card_for(record: ImageRecord, url: str, thumbnail_url: str, page_url: str) -> Card:
    title = record.original_name or record.name
    width, height = thumb_box(record.width, record.height)
    return Card(
        record=record,
        url=url,
        thumbnail_url=thumbnail_url,
        title=title,
        thumb_width=width,
        thumb_height=height,
        page_url=page_url,
        snippets=embed_snippets(url, title, page_url),
    )
