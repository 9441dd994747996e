"""The main page with this browser's gallery, its further pages, and deleting by the owner."""

from loguru import logger

from ...database import DatabaseUnavailable
from ...gallery import BadCursor, owner_page
from .base import BaseHandler, http_error_for


class GalleryHandler(BaseHandler):
    """`/` and `/gallery?before=<cursor>`: the page (or, for htmx, the next page of cards)."""

    async def get(self) -> None:
        owner = self.owner_id(create=True)
        try:
            page = await owner_page(self.ctx.repo, owner, self.get_argument("before", ""))
        except BadCursor:
            self.fail(400, "that gallery page does not exist (bad 'before' cursor)")
        except DatabaseUnavailable as exc:
            self.fail(*http_error_for(exc))
        self.set_header("Cache-Control", "no-store")
        self.render_html(
            "index.html", "_gallery_page.html",
            cards=[self.card(record) for record in page.records],
            next_url=f"/gallery?before={page.next_cursor}" if page.next_cursor else "",
            max_bytes=self.ctx.settings.max_upload_bytes,
        )  # fmt: skip

    head = get


class OwnerDeleteHandler(BaseHandler):
    """`/gallery/<name>`: the owner (by cookie) deletes one of their images from its card."""

    async def post(self, name: str) -> None:
        owner = self.owner_id()
        record = await self.find_image(name)
        if record is None or not owner or record.owner != owner:
            logger.warning(f"owner delete refused ip={self.request.remote_ip} name={name}")
            self.fail(404, "no such image among your uploads")
        await self.delete_image(record, by="owner")
        self.render_html("deleted.html", "_deleted_card.html", name=name)

    delete = post
