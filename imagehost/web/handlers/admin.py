"""The admin area: sign-in and sign-out, the panel (totals, images, log) and deleting images.

Every handler behind the sign-in derives from AdminHandler, whose prepare() refuses requests
without a session before any work is done, fragments included.
"""

import asyncio
from datetime import UTC, datetime, time
from urllib.parse import urlencode

from loguru import logger
from tornado.web import HTTPError, RequestHandler

from ...adminauth import CLOSED_MESSAGE, SESSION_COOKIE
from ...cards import human_size
from ...database import DatabaseUnavailable
from ...logsetup import tail_lines
from .base import BaseHandler, http_error_for

LOGIN_URL = "/admin/login"
PAGE_SIZE = 30
LOG_LINES = 200


class AdminBase(BaseHandler):
    """What the sign-in page and the admin pages share: no caching, XSRF even without cookies."""

    def get_template_namespace(self) -> dict:
        namespace = super().get_template_namespace()
        namespace.update(human_size=human_size, url_query=lambda **q: urlencode(q))
        return namespace

    def set_default_headers(self) -> None:
        super().set_default_headers()
        self.set_header("Cache-Control", "no-store")
        self.set_header("Vary", "HX-Request")

    def check_xsrf_cookie(self) -> None:
        # BaseHandler lets cookie-less API clients through; no admin action is an API call.
        RequestHandler.check_xsrf_cookie(self)

    def require_open(self) -> None:
        if not self.ctx.admin.enabled:
            self.fail(403, CLOSED_MESSAGE)

    def go(self, url: str) -> None:
        """Send the browser to `url`: htmx follows HX-Redirect, a form follows a 303."""
        if self.is_htmx:
            self.set_header("HX-Redirect", url)
            self.finish()
        else:
            self.redirect(url, status=303)


class AdminHandler(AdminBase):
    """Base of every page and action behind the sign-in."""

    def prepare(self) -> None:
        self.require_open()
        hours = self.ctx.admin.session_hours
        value = self.get_signed_cookie(SESSION_COOKIE, max_age_days=hours / 24)
        if self.ctx.admin.session_valid(value):
            return
        self.set_status(401)
        if self.is_htmx:
            self.set_header("HX-Redirect", LOGIN_URL)
            self.finish()
        elif self.request.method in ("GET", "HEAD") and self.wants() == "html":
            self.render("admin_login.html", error="", next_url=self.request.uri)
        else:
            self.fail(401, "sign in at /admin/login first")

    def database_failed(self, exc: DatabaseUnavailable) -> None:
        self.fail(*http_error_for(exc))

    async def log_tail(self) -> list[str]:
        """The end of app.log, read on the executor."""
        path = self.ctx.settings.logs_dir / "app.log"
        return await asyncio.get_running_loop().run_in_executor(
            self.ctx.uploads.executor, tail_lines, path, LOG_LINES
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
            self.render("admin_login.html", error="Wrong password.", next_url=next_url)
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


def page_key(raw: str) -> tuple[datetime, str] | None:
    """`before` of the next page: "<created_at ISO>|<name>" of the last image shown."""
    if not raw:
        return None
    created, _, name = raw.partition("|")
    try:
        when = datetime.fromisoformat(created)
    except ValueError:
        raise HTTPError(400, log_message="bad page key") from None
    return (when if when.tzinfo else when.replace(tzinfo=UTC)), name


class PanelHandler(AdminHandler):
    async def get(self) -> None:
        query = self.get_argument("q", "").strip()
        before = page_key(self.get_argument("before", ""))
        ctx = self.ctx
        midnight = datetime.combine(datetime.now(UTC).date(), time(), tzinfo=UTC)
        try:
            totals, images = await asyncio.gather(
                ctx.repo.totals(since=midnight),
                ctx.repo.list_page(search=query, before=before, limit=PAGE_SIZE),
            )
        except DatabaseUnavailable as exc:
            self.database_failed(exc)
        free, backups, status, log = await asyncio.gather(
            ctx.storage.free_bytes(),
            ctx.backups.list_files(),
            ctx.backups.status(),
            self.log_tail(),
        )
        self.render(
            "admin.html", totals=totals, free=free, images=images, query=query,
            page_size=PAGE_SIZE, backups=backups, status=status, log=log,
        )  # fmt: skip


class ImagesHandler(AdminHandler):
    """The image list, searched and paged: rows for htmx, the panel otherwise."""

    async def get(self) -> None:
        query = self.get_argument("q", "").strip()
        before = page_key(self.get_argument("before", ""))
        if not self.is_htmx:
            self.redirect("/admin?" + urlencode(self.request.query_arguments, doseq=True))
            return
        try:
            images = await self.ctx.repo.list_page(search=query, before=before, limit=PAGE_SIZE)
        except DatabaseUnavailable as exc:
            self.database_failed(exc)
        self.render("_admin_images.html", images=images, query=query, page_size=PAGE_SIZE)


class ImageDeleteHandler(AdminHandler):
    async def post(self, name: str) -> None:
        try:
            record = await self.ctx.repo.get(name)
            if record is None:
                self.fail(404, "no such image")
            await self.ctx.uploads.delete(record)
        except DatabaseUnavailable as exc:
            self.database_failed(exc)
        logger.info(f"image deleted ip={self.request.remote_ip} name={name} by=admin")
        if self.is_htmx:
            self.finish("")  # the row is swapped for nothing
        else:
            self.redirect("/admin", status=303)


class LogHandler(AdminHandler):
    async def get(self) -> None:
        log = await self.log_tail()
        self.render("_admin_log.html", log=log)
