"""The delete-by-link page, the language switcher and the health check."""

from ...database import DatabaseUnavailable
from ...i18n.languages import LANGUAGES, N_
from ...refusal import Refusal
from .base import BaseHandler


def same_site_path(url: str) -> str:
    """Where to go back to: a path on this site, never another host."""
    if url.startswith("/") and not url.startswith("//") and "\\" not in url:
        return url
    return "/"


class DeleteByTokenHandler(BaseHandler):
    """/delete/<name>/<token>: GET asks to confirm, POST (or DELETE from an API) deletes."""

    def set_default_headers(self) -> None:
        super().set_default_headers()
        # The URL holds the token: it must not leave in a Referer, even to our own stylesheet.
        self.set_header("Referrer-Policy", "no-referrer")

    async def find(self, name: str, token: str):
        record = await self.find_image(name)
        if record is None or not self.ctx.uploads.token_matches(record, token):
            raise Refusal(404, "not_found", N_("no such image, or the delete link is wrong"))
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


class LanguageHandler(BaseHandler):
    """POST /language, the header's switcher (and the account page's choice): the reader's
    language, kept in a cookie and, when signed in, on the account. "" forgets the choice:
    Accept-Language decides again."""

    async def post(self) -> None:
        language = self.get_body_argument("language", "")
        if language and language not in LANGUAGES:
            raise Refusal(
                400, "unsupported_language", N_("no such language; this site speaks {languages}"),
                languages=", ".join(LANGUAGES),
            )  # fmt: skip
        if self.current_user is not None:
            await self.ctx.accounts.set_language(self.current_user, language)
        self.keep_language(language)
        self.redirect(same_site_path(self.get_body_argument("next", "/")), status=303)


class HealthHandler(BaseHandler):
    async def get(self) -> None:
        try:
            await self.ctx.repo.ping()
            database = "ok"
        except DatabaseUnavailable:
            database = "unavailable"
        self.set_header("Cache-Control", "no-store")
        self.finish({"status": "ok", "database": database})
