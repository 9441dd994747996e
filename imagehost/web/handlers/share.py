"""The album's share page `/a/<share id>` (anyone with the link; a private album only to its
owner) and "download all", a zip streamed as it is written."""

from contextlib import aclosing
from urllib.parse import quote

from loguru import logger
from tornado.iostream import StreamClosedError

from ...albums.records import AlbumRecord
from ...albums.zipstream import entry_name
from .base import BaseHandler


class ShareBase(BaseHandler):
    async def shared_album(self, share_id: str) -> AlbumRecord:
        # Private albums stay private in caches too.
        self.set_header("Cache-Control", "private, no-store")
        return await self.ctx.albums.shared(share_id, self.owner_id())


class SharePageHandler(ShareBase):
    """`/a/<share id>`: the grid (htmx: its next tiles, `?after=<cursor>`)."""

    async def get(self, share_id: str) -> None:
        album = await self.shared_album(share_id)
        page = await self.ctx.albums.page(album, self.get_argument("after", ""))
        path = f"/a/{album.share_id}"
        self.respond(
            page="share.html", fragment="_share_tiles.html", album=album,
            cards=[self.card(record) for record in page.records],
            next_url=f"{path}?after={quote(page.next_cursor)}" if page.next_cursor else "",
            count=await self.ctx.albums.albums.count(album.album_id),
            mine=album.owner == self.owner_id(), zip_url=f"{path}/zip",
        )  # fmt: skip

    head = get


class ShareZipHandler(ShareBase):
    """`/a/<share id>/zip`: every image of the album, in order, in one zip."""

    async def get(self, share_id: str) -> None:
        album = await self.shared_album(share_id)
        filename = entry_name(0, album.title, "album.zip")[5:]
        self.set_header("Content-Type", "application/zip")
        self.set_header(
            "Content-Disposition",
            f"attachment; filename=\"album.zip\"; filename*=UTF-8''{quote(filename)}",
        )
        # nginx sends each chunk on as it comes instead of collecting the answer first.
        self.set_header("X-Accel-Buffering", "no")
        sent = 0
        try:
            async with aclosing(self.ctx.albums.download(album)) as chunks:
                async for chunk in chunks:
                    self.write(chunk)
                    sent += len(chunk)
                    await self.flush()
        except StreamClosedError:
            logger.info(f"album zip abandoned album={album.album_id} bytes={sent}")
            return
        logger.info(f"album zip sent album={album.album_id} bytes={sent}")
