"""The delete-by-link page and the health check."""

from ...database import DatabaseUnavailable
from ...refusal import Refusal
from .base import BaseHandler


class DeleteByTokenHandler(BaseHandler):
    """/delete/<name>/<token>: GET asks to confirm, POST (or DELETE from an API) deletes."""

    def set_default_headers(self) -> None:
        super().set_default_headers()
        # The URL holds the token: it must not leave in a Referer, even to our own stylesheet.
        self.set_header("Referrer-Policy", "no-referrer")

    async def find(self, name: str, token: str):
        record = await self.find_image(name)
        if record is None or not self.ctx.uploads.token_matches(record, token):
            raise Refusal(404, "no such image, or the delete link is wrong")
        return record

    async def get(self, name: str, token: str) -> None:
        record = await self.find(name, token)
        self.render("delete_confirm.html", record=record)

    async def post(self, name: str, token: str) -> None:
        record = await self.find(name, token)
        await self.delete_image(record, by="delete-link")
        self.respond(
            json={"deleted": name}, text=f"deleted {name}\n", page="deleted.html", name=name
        )

    delete = post


class HealthHandler(BaseHandler):
    async def get(self) -> None:
        try:
            await self.ctx.repo.ping()
            database = "ok"
        except DatabaseUnavailable:
            database = "unavailable"
        self.set_header("Cache-Control", "no-store")
        self.finish({"status": "ok", "database": database})
