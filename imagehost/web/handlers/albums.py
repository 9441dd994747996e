"""The owner's albums: the list and the form that makes one, an album's own page (title,
description, visibility, link, order), adding and removing images, deleting."""

from functools import partial
from urllib.parse import quote

from loguru import logger

from ...albums.records import AlbumRecord
from ...i18n import formats
from ...i18n.languages import N_
from ...refusal import Refusal
from .base import BaseHandler


class AlbumBase(BaseHandler):
    async def own_album(self, album_id: str) -> AlbumRecord:
        return await self.ctx.albums.owned(album_id, self.owner_id())

    def album_path(self, album: AlbumRecord) -> str:
        return f"/albums/{album.album_id}"

    def share_url(self, album: AlbumRecord) -> str:
        return f"{self.base_url}/a/{album.share_id}"


class AlbumsHandler(AlbumBase):
    """`/albums`: the owner's albums; POST makes a new one."""

    async def get(self) -> None:
        owner = self.owner_id(create=True)
        self.set_header("Cache-Control", "no-store")
        self.render("albums.html", albums=await self.ctx.albums.of_owner(owner))

    async def post(self) -> None:
        user = self.signed_in_user()
        album = await self.ctx.albums.create(
            self.owner_id(create=True), self.get_body_argument("title", ""),
            self.get_body_argument("description", ""),
            self.get_body_argument("visibility", "unlisted"),
            confirm=partial(self.ctx.accounts.confirm_owner, user) if user else None,
        )  # fmt: skip
        logger.info(f"album created ip={self.request.remote_ip} album={album.album_id}")
        self.respond(redirect=self.album_path(album))


class AlbumHandler(AlbumBase):
    """`/albums/<id>`: the album's own page (htmx: its next images); POST changes it."""

    async def get(self, album_id: str) -> None:
        album = await self.own_album(album_id)
        page = await self.ctx.albums.page(album, self.get_argument("after", ""))
        self.set_header("Cache-Control", "no-store")
        next_url = f"{self.album_path(album)}?after={quote(page.next_cursor)}"
        self.respond(
            page="album.html", fragment="_album_items.html", album=album,
            cards=[self.card(record) for record in page.records],
            next_url=next_url if page.next_cursor else "", share_url=self.share_url(album),
            count=await self.ctx.albums.albums.count(album.album_id),
        )  # fmt: skip

    async def post(self, album_id: str) -> None:
        album = await self.own_album(album_id)
        await self.ctx.albums.change(
            album, title=self.get_body_argument("title", album.title),
            description=self.get_body_argument("description", album.description),
            visibility=self.get_body_argument("visibility", album.visibility),
        )  # fmt: skip
        self.respond(redirect=self.album_path(album))


class AlbumLinkHandler(AlbumBase):
    """`POST /albums/<id>/link`: a new share link; the old one stops working."""

    async def post(self, album_id: str) -> None:
        album = await self.own_album(album_id)
        await self.ctx.albums.new_link(album)
        logger.info(f"album link renewed ip={self.request.remote_ip} album={album_id}")
        self.respond(redirect=self.album_path(album))


class AlbumDeleteHandler(AlbumBase):
    """`POST /albums/<id>/delete`: the album goes; its images only with `images=delete`."""

    async def post(self, album_id: str) -> None:
        album = await self.own_album(album_id)
        with_images = self.get_body_argument("images", "") == "delete"
        deleted = await self.ctx.albums.delete(album, self.ctx.uploads, with_images)
        logger.info(
            f"album deleted ip={self.request.remote_ip} album={album_id} images_deleted={deleted}"
        )
        self.respond(redirect="/albums")


class AlbumImageHandler(AlbumBase):
    """`POST /albums/<id>/images/<name>/(move|remove)`: one image of the album.

    A move takes `direction` (up, down) or `after` (the image to follow; empty: the front).
    """

    async def post(self, album_id: str, name: str, action: str) -> None:
        album = await self.own_album(album_id)
        if action == "remove":
            await self.ctx.albums.remove(album, [name])
        else:
            await self.ctx.albums.move(
                album, name, direction=self.get_body_argument("direction", ""),
                after=self.get_body_argument("after", ""),
            )  # fmt: skip
        self.respond(redirect=self.album_path(album), fragment="")


class SelectionHandler(AlbumBase):
    """`POST /albums/selection`: the gallery's selected images (`name`, repeated) added to or
    removed from the album `album`."""

    async def post(self) -> None:
        album = await self.own_album(self.get_body_argument("album", ""))
        names = self.get_body_arguments("name")
        action = self.get_body_argument("action", "add")
        if not names:
            raise Refusal(400, "malformed_request", N_("no images are selected"))
        _ = self.locale.translate
        if action == "remove":
            count = await self.ctx.albums.remove(album, names)
            message = _("Removed {count} image from {album}", "Removed {count} images from {album}",
                        count)  # fmt: skip
        else:
            count = await self.ctx.albums.add(album, names)
            message = _("Added {count} image to {album}", "Added {count} images to {album}", count)
        count_text = formats.number(count, self.locale.code)
        self.respond(
            redirect=self.album_path(album), fragment="_selection_result.html", album=album,
            message=message.format(count=count_text, album=album.title),
        )  # fmt: skip
