"""The admin area: sign-in and sign-out, the panel (totals, images, log) and deleting images.

Every handler behind the sign-in derives from AdminHandler, whose prepare() refuses requests
without a session before any work is done, fragments included.
"""

import asyncio
from datetime import UTC, datetime, time
from urllib.parse import urlencode

from tornado.web import RequestHandler

from ...adminauth import CLOSED_MESSAGE, SESSION_COOKIE
from ...gallery import newest_page
from ...i18n.languages import N_
from ...logsetup import tail_lines
from ...refusal import Refusal
from .base import BaseHandler

LOGIN_URL = "/admin/login"
PAGE_SIZE = 30
LOG_LINES = 200


class AdminBase(BaseHandler):
    """What the sign-in page and the admin pages share: no caching, XSRF even without cookies."""

    def get_template_namespace(self) -> dict:
        namespace = super().get_template_namespace()
        namespace.update(url_query=lambda **q: urlencode(q))
        return namespace

    def set_default_headers(self) -> None:
        super().set_default_headers()
        self.set_header("Cache-Control", "no-store")

    def check_xsrf_cookie(self) -> None:
        # BaseHandler lets cookie-less API clients through; no admin action is an API call.
        RequestHandler.check_xsrf_cookie(self)

    def require_open(self) -> None:
        if not self.ctx.admin.enabled:
            raise Refusal(403, "admin_closed", CLOSED_MESSAGE)

    def go(self, url: str) -> None:
        """Send the browser to `url`: htmx follows HX-Redirect, a form follows a 303."""
        self.respond(redirect=url)


class AdminHandler(AdminBase):
    """Base of every page and action behind the sign-in."""

    def prepare(self) -> None:
        self.require_open()
        hours = self.ctx.admin.session_hours
        value = self.get_signed_cookie(SESSION_COOKIE, max_age_days=hours / 24)
        if self.ctx.admin.session_valid(value):
            return
        self.set_status(401)
        if self.wants() == "fragment":
            self.go(LOGIN_URL)  # not the sign-in form in a fragment's place: the whole page
        elif self.wants() == "page" and self.request.method in ("GET", "HEAD"):
            self.render("admin_login.html", error="", next_url=self.request.uri)
        else:
            raise Refusal(401, "sign_in_required", N_("sign in at /admin/login first"))

    async def log_tail(self) -> list[str]:
        """The end of app.log, read on the executor."""
        path = self.ctx.settings.logs_dir / "app.log"
        return await asyncio.get_running_loop().run_in_executor(
            self.ctx.uploads.executor, tail_lines, path, LOG_LINES
        )

    async def image_page(self, query: str):
        return await newest_page(
            self.ctx.repo, self.get_argument("before", ""), PAGE_SIZE, search=query
        )


def safe_next(url: str) -> str:
    """Only admin pages of this site are places to return to after signing in."""
    if url.startswith(("/admin", "/backup/")) and not url.startswith("//") and "\\" not in url:
        return url
    return "/admin"


class LoginHandler(AdminBase):
    def get(self) -> None:
        self.require_open()
        self.render("admin_login.html", error="", next_url=safe_next(self.get_argument("next", "")))

    async def post(self) -> None:
        self.require_open()
        password = self.get_body_argument("password", "")
        next_url = safe_next(self.get_body_argument("next", ""))
        if not await self.ctx.admin.check(password, self.request.remote_ip or ""):
            self.set_status(401)
            self.render("admin_login.html", error=N_("Wrong password."), next_url=next_url)
            return
        hours = self.ctx.admin.session_hours
        self.set_signed_cookie(
            SESSION_COOKIE, self.ctx.admin.session_value, expires_days=hours / 24,
            httponly=True, samesite="Strict", secure=self.request.protocol == "https",
        )  # fmt: skip
        self.go(next_url)


class LogoutHandler(AdminBase):
    def post(self) -> None:
        self.clear_cookie(SESSION_COOKIE)
        self.go(LOGIN_URL)


class PanelHandler(AdminHandler):
    async def get(self) -> None:
        query = self.get_argument("q", "").strip()
        ctx = self.ctx
        midnight = datetime.combine(datetime.now(UTC).date(), time(), tzinfo=UTC)
        totals, images = await asyncio.gather(
            ctx.repo.totals(since=midnight), self.image_page(query)
        )
        free, backups, status, log = await asyncio.gather(
            ctx.storage.free_bytes(),
            ctx.backups.list_files(),
            ctx.backups.status(),
            self.log_tail(),
        )
        self.render(
            "admin.html", totals=totals, free=free, images=images, query=query,
            backups=backups, status=status, log=log,
        )  # fmt: skip


class ImagesHandler(AdminHandler):
    """The image list, searched and paged: rows for htmx; others go to the panel."""

    async def get(self) -> None:
        query = self.get_argument("q", "").strip()
        self.respond(
            fragment="_admin_images.html",
            redirect="/admin?" + urlencode(self.request.query_arguments, doseq=True),
            images=await self.image_page(query), query=query,
        )  # fmt: skip


class ImageDeleteHandler(AdminHandler):
    async def post(self, name: str) -> None:
        record = await self.find_image(name)
        if record is None:
            raise Refusal(404, "not_found", N_("no such image"))
        await self.delete_image(record, by="admin")
        self.respond(fragment="", redirect="/admin")  # the row is swapped for nothing


class LogHandler(AdminHandler):
    async def get(self) -> None:
        self.respond(fragment="_admin_log.html", log=await self.log_tail())
