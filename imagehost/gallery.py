"""Images page by page, newest first: keyset pages and their text cursors.

A cursor names the last image already shown, `<created_at in ms>.<name>`, so the next page
starts at an index key instead of skipping rows: page 500 costs what page 1 does. The
gallery pages one owner's uploads, the admin list every image.
"""

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from .database import ImageRecord, ImageRepository
from .i18n.languages import N_
from .refusal import Refusal

PAGE_SIZE = 24
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)
_LAST_MS = (datetime(9999, 12, 31, 23, 59, 59, 999000, tzinfo=UTC) - _EPOCH) // _MS
CURSOR_PATTERN = r"(\d{1,15})\.([A-Za-z0-9_-]{16}\.(?:jpg|png|gif))"
_CURSOR = re.compile(CURSOR_PATTERN)


class BadCursor(Refusal):
    """The cursor text is not one this module wrote."""

    def __init__(self) -> None:
        super().__init__(
            400, "malformed_request", N_("that gallery page does not exist (bad 'before' cursor)")
        )


@dataclass(frozen=True)
class GalleryPage:
    records: list[ImageRecord]
    next_cursor: str  # empty on the last page


def encode_cursor(record: ImageRecord) -> str:
    # BSON dates keep milliseconds, so a record read back compares equal at ms precision.
    millis = (record.created_at - _EPOCH) // _MS
    return f"{millis}.{record.name}"


def decode_cursor(text: str) -> tuple[datetime, str]:
    match = _CURSOR.fullmatch(text)
    if not match:
        raise BadCursor()
    # A time past the year 9999 (what datetime can hold) is after every image: the same page.
    return _EPOCH + min(int(match[1]), _LAST_MS) * _MS, match[2]


async def newest_page(
    repo: ImageRepository,
    cursor: str = "",
    size: int = PAGE_SIZE,
    *,
    owner: str | None = None,
    search: str = "",
) -> GalleryPage:
    """The page of images after `cursor` (the first page when empty), filtered as
    ImageRepository.list_page filters them; raises BadCursor for a cursor not ours."""
    before = decode_cursor(cursor) if cursor else None
    # One extra row says whether another page exists without a count query.
    records = await repo.list_page(owner=owner, search=search, before=before, limit=size + 1)
    if len(records) > size:
        return GalleryPage(records[:size], encode_cursor(records[size - 1]))
    return GalleryPage(records, "")


async def owner_page(
    repo: ImageRepository, owner: str, cursor: str = "", size: int = PAGE_SIZE
) -> GalleryPage:
    """The page of `owner`'s images after `cursor` (the first page when empty).

    An empty owner (a visitor without the cookie) has no uploads: API uploads without a
    cookie are stored with owner "" and must never show up in anyone's gallery.
    """
    if not owner:
        return GalleryPage([], "")
    return await newest_page(repo, cursor, size, owner=owner)
