"""What owners and visitors do with albums: make, change, fill, order, share, delete; and the
pages of an album's images, keyset-paged by position (`<position>.<name>` cursors).

Nothing here knows about HTTP; refusals are raised as Refusal.
"""

import asyncio
import re
import unicodedata
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import Executor
from dataclasses import dataclass

from ..database import ImageRecord, ImageRepository
from ..i18n.languages import N_
from ..refusal import Refusal
from ..storage import Storage
from ..uploads import UploadService
from .records import VISIBILITIES, AlbumRecord, AlbumRepository, new_id
from .zipstream import ZipStream, entry_name

MAX_TITLE = 200
MAX_DESCRIPTION = 2000
PAGE_SIZE = 48
_CURSOR = re.compile(r"(-?\d{1,18})\.([A-Za-z0-9_-]{16}\.(?:jpg|png|gif))")


class AlbumNotFound(Refusal):
    def __init__(self) -> None:
        super().__init__(404, "not_found", N_("no such album"))


@dataclass(frozen=True)
class AlbumPage:
    records: list[ImageRecord]
    next_cursor: str  # empty on the last page


def plain_text(text: str, limit: int, refusal: str, *, lines=False, required=False) -> str:
    """`text` without control characters (line breaks kept when `lines`), stripped; refused
    with the message `refusal` when longer than `limit` (or empty when `required`)."""
    text = text.replace("\r\n", "\n")
    kept = "".join(c for c in text if (lines and c == "\n") or unicodedata.category(c)[0] != "C")
    kept = kept.strip()
    if len(kept) > limit or (required and not kept):
        raise Refusal(400, "malformed_request", refusal, limit=limit)
    return kept


def clean_title(text: str) -> str:
    message = N_("an album needs a title of 1 to {limit} characters")
    return plain_text(text, MAX_TITLE, message, required=True)


def clean_description(text: str) -> str:
    message = N_("an album's description is at most {limit} characters")
    return plain_text(text, MAX_DESCRIPTION, message, lines=True)


def check_visibility(value: str) -> str:
    if value not in VISIBILITIES:
        raise Refusal(
            400, "malformed_request", N_("an album is either unlisted or private, not {value}"),
            value=value,
        )  # fmt: skip
    return value


def decode_cursor(text: str) -> tuple[int, str]:
    match = _CURSOR.fullmatch(text)
    if not match:
        raise Refusal(
            400, "malformed_request", N_("that album page does not exist (bad 'after' cursor)")
        )
    return int(match[1]), match[2]


class AlbumService:
    def __init__(
        self,
        albums: AlbumRepository,
        images: ImageRepository,
        storage: Storage,
        executor: Executor | None = None,
    ) -> None:
        self.albums = albums
        self.images = images
        self.storage = storage
        self.executor = executor  # for the zip's reads and writes

    async def create(
        self,
        owner: str,
        title: str,
        description: str = "",
        visibility: str = "unlisted",
        confirm: Callable[[], Awaitable[object]] | None = None,
    ) -> AlbumRecord:
        """A new album of `owner`'s. `confirm()` (the owner account's: that it is still
        there) is awaited once the album is in; when it raises, the album is deleted again."""
        if not owner:
            raise AlbumNotFound()
        album = AlbumRecord(
            album_id=new_id(), share_id=new_id(), owner=owner, title=clean_title(title),
            description=clean_description(description), visibility=check_visibility(visibility),
        )  # fmt: skip
        await self.albums.insert(album)
        if confirm is not None:
            try:
                await confirm()
            except BaseException:
                await asyncio.shield(self.albums.delete(album.album_id))
                raise
        return album

    async def owned(self, album_id: str, owner: str) -> AlbumRecord:
        """The owner's album; AlbumNotFound for anyone else's (or none)."""
        album = await self.albums.get(album_id) if owner else None
        if album is None or album.owner != owner:
            raise AlbumNotFound()
        return album

    async def shared(self, share_id: str, viewer: str) -> AlbumRecord:
        """The album behind a share link: unlisted ones for anyone, private ones for their
        owner only (to anyone else it does not exist)."""
        album = await self.albums.by_share_id(share_id)
        # A private album of nobody's (its account was deleted) is no one's to see.
        if album is None or (album.private and not (viewer and album.owner == viewer)):
            raise AlbumNotFound()
        return album

    async def of_owner(self, owner: str) -> list[tuple[AlbumRecord, int]]:
        """The owner's albums, newest first, each with its number of images."""
        if not owner:
            return []
        albums = await self.albums.of_owner(owner)
        return [(album, await self.albums.count(album.album_id)) for album in albums]

    async def change(
        self, album: AlbumRecord, *, title: str, description: str, visibility: str
    ) -> None:
        await self.albums.update(
            album.album_id, title=clean_title(title), description=clean_description(description),
            visibility=check_visibility(visibility),
        )  # fmt: skip

    async def new_link(self, album: AlbumRecord) -> str:
        """A new share id; the old link stops working at once."""
        share_id = new_id()
        await self.albums.update(album.album_id, share_id=share_id)
        return share_id

    async def add(self, album: AlbumRecord, names: list[str]) -> int:
        """Add the album owner's own images among `names`; others are passed over."""
        records = await self.images.get_many(names)
        mine = [name for name in names if name in records and records[name].owner == album.owner]
        return await self.albums.append(album.album_id, mine)

    async def remove(self, album: AlbumRecord, names: list[str]) -> int:
        return await self.albums.remove(album.album_id, names)

    async def move(self, album: AlbumRecord, name: str, *, direction: str = "", after: str = ""):
        if direction and direction not in ("up", "down"):
            raise Refusal(
                400, "malformed_request", N_("an image moves up or down, not {value}"),
                value=direction,
            )  # fmt: skip
        if not await self.albums.move(album.album_id, name, direction=direction, after=after):
            raise Refusal(404, "not_found", N_("no such image in this album"))

    async def delete(self, album: AlbumRecord, uploads: UploadService, with_images: bool) -> int:
        """Delete the album; its images too when asked (through the one delete path), the
        images first, so an interrupted delete leaves the album to delete again. Returns how
        many images were deleted."""
        deleted, cursor = 0, ""
        while with_images:
            page = await self.page(album, cursor, size=200)
            for record in page.records:
                if record.owner == album.owner:
                    await uploads.delete(record)
                    deleted += 1
            if not page.next_cursor:
                break
            cursor = page.next_cursor
        await self.albums.delete(album.album_id)
        return deleted

    async def page(self, album: AlbumRecord, cursor: str = "", size: int = PAGE_SIZE) -> AlbumPage:
        """The album's images after `cursor`, in album order. A membership whose image is gone
        (deleted while this ran) is passed over."""
        after = decode_cursor(cursor) if cursor else None
        members = await self.albums.page(album.album_id, after, limit=size + 1)
        more = len(members) > size
        members = members[:size]
        records = await self.images.get_many([m.name for m in members])
        shown = [records[m.name] for m in members if m.name in records]
        last = members[-1] if members else None
        return AlbumPage(shown, f"{last.position}.{last.name}" if more and last else "")

    async def download(self, album: AlbumRecord) -> AsyncIterator[bytes]:
        """The album as a zip, chunk by chunk as it is written; each file is read through the
        storage interface on the executor, so neither the archive nor a file is ever whole in
        memory. An image deleted meanwhile is left out."""
        loop = asyncio.get_running_loop()

        def run(func, *args):
            return loop.run_in_executor(self.executor, func, *args)

        archive = ZipStream()
        reader = self.storage.reader()
        open_stored = await run(reader.__enter__)
        try:
            cursor, index = "", 0
            while True:
                page = await self.page(album, cursor, size=200)
                for record in page.records:
                    try:
                        stream = await run(open_stored, record.name)
                    except FileNotFoundError:
                        continue
                    try:
                        index += 1
                        name = entry_name(index, record.original_name, record.name)
                        chunks = archive.entry(name, record.created_at, stream)
                        while (chunk := await run(next, chunks, None)) is not None:
                            yield chunk
                    finally:
                        await run(stream.close)
                if not page.next_cursor:
                    break
                cursor = page.next_cursor
            yield await run(archive.close)
        finally:
            await run(reader.__exit__, None, None, None)
