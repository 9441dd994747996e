"""/v/<stem>: the page of one image, to share where a preview should unfold (OpenGraph and
Twitter-card tags), with its links and when it expires."""

from ...i18n.languages import N_
from ...images.check import FORMATS
from ...refusal import Refusal
from .. import views
from .base import BaseHandler


class ImagePageHandler(BaseHandler):
    async def get(self, stem: str) -> None:
        record = await self.find_by_stem(stem)
        if record is None:
            raise Refusal(404, "not_found", N_("no such image"))
        # Public to whoever has the link, but not for search engines; it may change (expiry).
        self.set_header("X-Robots-Tag", "noindex")
        self.set_header("Cache-Control", "no-cache")
        self.respond(
            page="image.html", json=views.image_json(record, self.base_url),
            record=record, card=self.card(record), media_type=FORMATS[record.format][1],
            albums=await self.visible_albums(record.name),
        )  # fmt: skip

    async def visible_albums(self, name: str) -> list:
        """The albums holding the image that this reader may open: unlisted ones, and private
        ones of their own."""
        repo = self.ctx.albums.albums
        viewer = self.owner_id()
        albums = []
        for album_id in (await repo.albums_of([name])).get(name, []):
            album = await repo.get(album_id)
            if album is not None and (not album.private or album.owner == viewer):
                albums.append(album)
        return albums

    head = get
