"""The upload pipeline: check, strip, thumbnail, store, record; and deleting what it made.

Nothing here knows about HTTP. Blocking work (Pillow, hashing, disk) runs in the executor.
"""

import asyncio
import hashlib
import hmac
import secrets
import unicodedata
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from .albums.records import AlbumRepository
from .database import DuplicateKeyError, ImageRecord, ImageRepository, record_files
from .i18n.languages import N_
from .images.check import ImageInfo, ImageRejected, decode_image
from .images.metadata import strip_metadata
from .images.thumbnail import SIDE as THUMBNAIL_SIDE
from .images.thumbnail import Thumbnail, thumbnail_of
from .storage import Storage

NAME_ATTEMPTS = 5
MAX_ORIGINAL_NAME = 255


@dataclass(frozen=True)
class UploadLimits:
    max_bytes: int
    max_pixels: int
    strip_metadata: bool = True


@dataclass(frozen=True)
class PreparedImage:
    info: ImageInfo
    data: bytes
    sha256: str
    thumbnail: Thumbnail


@dataclass(frozen=True)
class Upload:
    record: ImageRecord
    delete_token: str


def prepare_image(data: bytes, limits: UploadLimits) -> PreparedImage:
    """Check the bytes completely; make what is stored: the (stripped) image, its thumbnail.

    A JPEG or PNG is decoded once (a JPEG at the smallest scale that still holds its
    thumbnail): the thumbnail comes from the frame the check decoded.
    """
    info, first_frame = decode_image(
        data, max_bytes=limits.max_bytes, max_pixels=limits.max_pixels, reduce_to=THUMBNAIL_SIDE
    )
    with first_frame:
        if limits.strip_metadata:
            try:
                data = strip_metadata(data, info.format).data
            except ValueError as exc:
                raise ImageRejected(
                    422, "damaged", N_("the {format} file is malformed ({detail})"),
                    format=info.format.upper(), detail=str(exc),
                ) from None  # fmt: skip
        try:
            thumbnail = thumbnail_of(first_frame, data, info.format)
        except (OSError, ValueError, SyntaxError) as exc:
            raise ImageRejected(
                422, "damaged", N_("the image could not be thumbnailed ({detail})"), detail=str(exc)
            ) from None
    return PreparedImage(info, data, hashlib.sha256(data).hexdigest(), thumbnail)


def clean_original_name(name: str | None) -> str:
    """The client's file name as metadata only: no control characters, bounded length."""
    if not name:
        return ""
    cleaned = "".join(c for c in name if unicodedata.category(c)[0] != "C")
    return cleaned.strip()[:MAX_ORIGINAL_NAME]


def lifetime(expires_in: int) -> dict:
    """created_at and expires_at of a record made now and kept `expires_in` seconds (0:
    until deleted), in whole milliseconds as MongoDB keeps them."""
    now = datetime.now(UTC)
    now = now.replace(microsecond=now.microsecond // 1000 * 1000)
    return {
        "created_at": now,
        "expires_at": now + timedelta(seconds=expires_in) if expires_in else None,
    }


def new_stem() -> str:
    """96 random bits, URL-safe: 16 characters of base64url."""
    return secrets.token_urlsafe(12)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class UploadService:
    def __init__(
        self,
        repo: ImageRepository,
        storage: Storage,
        limits: UploadLimits,
        executor: Executor | None = None,
        slots: int = 0,
        albums: AlbumRepository | None = None,
    ) -> None:
        self.repo = repo
        self.albums = albums
        # Awaited with each record the delete path removed (the accounts take its bytes off
        # their owner's running total).
        self.on_removed: Callable[[ImageRecord], Awaitable[None]] | None = None
        self.storage = storage
        self.limits = limits
        self.executor = executor
        # Uploads whose bodies this process holds at once (0: no limit). The others wait
        # unread (nginx has buffered them to disk), so memory stays bounded under a burst.
        self._slots = asyncio.Semaphore(slots) if slots else None

    async def admit(self) -> None:
        """Wait for an upload slot; every admit() is paired with one release()."""
        if self._slots is not None:
            await self._slots.acquire()

    def release(self) -> None:
        if self._slots is not None:
            self._slots.release()

    async def accept(
        self,
        data: bytes,
        original_name: str | None,
        owner: str = "",
        album: str = "",
        expires_in: int = 0,
        check: Callable[[int, bool], Awaitable[None]] | None = None,
    ) -> Upload:
        """Store one upload (at the end of the album `album` when given, an album id the caller
        checked), kept `expires_in` seconds (0: until deleted); raises ImageRejected,
        DatabaseUnavailable or StorageFull, or what `check` raises.

        `check(size, stored)` (the owner account's: its quotas, and that it is still there) is
        awaited with the bytes to be stored before any file is written (`stored` False), then
        again once the record is in (`stored` True); when it raises, the upload is refused
        (and removed again, through the one delete path).
        Files are written first and the record (then the membership) last; when those cannot
        be written what was written is removed, so a refused or failed upload leaves nothing.
        """
        loop = asyncio.get_running_loop()
        prepared = await loop.run_in_executor(self.executor, prepare_image, data, self.limits)
        if check is not None:
            await check(len(prepared.data), False)
        token = secrets.token_urlsafe(24)
        for _ in range(NAME_ATTEMPTS):
            stem = new_stem()
            name = stem + prepared.info.extension
            thumb_name = f"{stem}.thumb{prepared.thumbnail.extension}"
            if not await self._store((name, prepared.data), (thumb_name, prepared.thumbnail.data)):
                continue
            try:
                record = ImageRecord(
                    name=name,
                    original_name=clean_original_name(original_name),
                    format=prepared.info.format,
                    width=prepared.info.width,
                    height=prepared.info.height,
                    size=len(prepared.data),
                    sha256=prepared.sha256,
                    delete_token_hash=hash_token(token),
                    owner=owner,
                    thumbnail=thumb_name,
                    **lifetime(expires_in),
                )
                await self.repo.insert(record)
            except DuplicateKeyError:
                await self._remove_files(*record_files(name, thumb_name))
                continue
            except BaseException:
                await self._remove_files(*record_files(name, thumb_name))
                raise
            try:
                if check is not None:
                    await check(record.size, True)
                if album and self.albums is not None:
                    await self.albums.append(album, [name])
            except BaseException:
                await asyncio.shield(self.delete(record))
                raise
            return Upload(record, token)
        raise RuntimeError("could not find a free image name")

    async def delete(self, record: ImageRecord) -> None:
        """Remove the record first (the link dies at once), then its album memberships and
        its files. This is the one delete path: owner, admin, delete link, album, check."""
        removed = await self.repo.delete(record.name)
        if removed is not None and self.on_removed is not None:
            await self.on_removed(removed)
        if self.albums is not None:
            await self.albums.forget_image(record.name)
        await self._remove_files(*record.files)

    @staticmethod
    def token_matches(record: ImageRecord, token: str) -> bool:
        return hmac.compare_digest(record.delete_token_hash, hash_token(token))

    async def _store(self, *files: tuple[str, bytes]) -> bool:
        """Put `files` (name, bytes) side by side: with object storage an upload then waits
        for one round trip, not one per file. False when a name is taken, after removing the
        files this call wrote; on any other failure those are removed too."""
        names = [name for name, _ in files]
        try:
            results = await asyncio.gather(
                *(self.storage.put(name, data) for name, data in files), return_exceptions=True
            )
        except BaseException:  # cancelled: what each put did is unknown; the names are ours
            await self._remove_files(*names)
            raise
        if all(result is None for result in results):
            return True
        await self._remove_files(
            *(name for name, r in zip(names, results, strict=True) if r is None)
        )
        for result in results:
            if result is not None and not isinstance(result, FileExistsError):
                raise result
        return False

    async def _remove_files(self, *names: str) -> None:
        for name in names:
            await asyncio.shield(self.storage.delete(name))
