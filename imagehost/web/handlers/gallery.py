"""The main page with this browser's gallery, its further pages, and deleting by the owner."""

from loguru import logger

from ...gallery import owner_page
from ...i18n.languages import N_
from ...refusal import Refusal
from .account import MOVED_COOKIE
from .base import BaseHandler


class GalleryHandler(BaseHandler):
    """`/` and `/gallery?before=<cursor>`: the page (or, for htmx, the next page of cards)."""

    async def get(self) -> None:
        owner = self.owner_id(create=self.ctx.settings.anonymous_uploads)
        page = await owner_page(self.ctx.repo, owner, self.get_argument("before", ""))
        # The albums are for the page's choosers; the next page of cards needs none.
        albums = [] if self.wants() == "fragment" else await self.ctx.albums.albums.of_owner(owner)
        signed_in = self.signed_in_user() is not None
        expiry = self.ctx.settings.expiry
        self.set_header("Cache-Control", "no-store")
        moved = self.get_signed_cookie(MOVED_COOKIE, max_age_days=1)
        if moved:
            self.clear_cookie(MOVED_COOKIE)
        self.respond(
            page="index.html", fragment="_gallery_page.html", albums=albums,
            cards=[self.card(record) for record in page.records],
            next_url=f"/gallery?before={page.next_cursor}" if page.next_cursor else "",
            max_bytes=self.ctx.settings.max_upload_bytes,
            expiry_choices=expiry.choices(signed_in),
            expiry_default=expiry.limits(signed_in).default,
            moved=int(moved) if moved and moved.isdigit() else 0,
        )  # fmt: skip

    head = get


class OwnerDeleteHandler(BaseHandler):
    """`/gallery/<name>`: the owner (signed in, or by cookie) deletes one of their images."""

    async def post(self, name: str) -> None:
        owner = self.owner_id()
        record = await self.find_image(name)
        if record is None or not owner or record.owner != owner:
            logger.warning(f"owner delete refused ip={self.request.remote_ip} name={name}")
            raise Refusal(404, "not_found", N_("no such image among your uploads"))
        await self.delete_image(record, by="owner")
        self.respond(page="deleted.html", fragment="_deleted_card.html", name=name)

    delete = post
