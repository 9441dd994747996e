"""The admin area: sign-in and sign-out, the panel (totals, images, invites, log) and
deleting images.

Every handler behind the sign-in derives from AdminHandler, whose prepare() refuses requests
without an admin's session before any work is done, fragments included.
"""

import asyncio
import re
from datetime import UTC, datetime, time
from urllib.parse import urlencode

from tornado.web import RequestHandler

from ...accounts.service import CLOSED_MESSAGE
from ...accounts.users import NOBODY, OWNER_PREFIX
from ...gallery import newest_page
from ...i18n.languages import N_
from ...logsetup import tail_lines
from ...refusal import Refusal
from .account import SignInHandler, SignOutHandler
from .base import BaseHandler

LOGIN_URL = "/admin/login"
PAGE_SIZE = 30
LOG_LINES = 200
# Whose images the list shows: an account's (user:<id>), an anonymous browser's, or nobody's.
OWNER = re.compile(rf"{OWNER_PREFIX}[0-9a-f]{{24}}|[A-Za-z0-9_-]{{16,64}}|nobody")


def owner_filter(value: str) -> str | None:
    """The owner key the image list is filtered by, from its `owner` argument; None: all."""
    if not value:
        return None
    if not OWNER.fullmatch(value):
        raise Refusal(
            400, "malformed_request",
            N_("owner is nobody, user:<id> or a browser's owner id, not {value}"), value=value,
        )  # fmt: skip
    return NOBODY if value == "nobody" else value


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

    async def require_open(self) -> None:
        if not await self.ctx.accounts.admin_exists():
            raise Refusal(403, "admin_closed", CLOSED_MESSAGE)

    def go(self, url: str) -> None:
        """Send the browser to `url`: htmx follows HX-Redirect, a form follows a 303."""
        self.respond(redirect=url)


class AdminHandler(AdminBase):
    """Base of every page and action behind the sign-in."""

    async def prepare(self) -> None:
        await self.identify()
        user = self.current_user
        if user is not None and user.is_admin:
            return
        await self.require_open()
        if user is not None:
            raise Refusal(403, "admin_only", N_("only an admin may open this page"))
        self.set_status(401)
        if self.wants() == "fragment":
            self.go(LOGIN_URL)  # not the sign-in form in a fragment's place: the whole page
        elif self.wants() == "page" and self.request.method in ("GET", "HEAD"):
            self.render(
                "admin_login.html", error="", next_url=self.request.uri, action=LOGIN_URL,
                username=self.ctx.settings.admin_username,
            )  # fmt: skip
        else:
            raise Refusal(401, "sign_in_required", N_("sign in at /admin/login first"))

    async def invites(self) -> list:
        if self.ctx.settings.registration != "invite":
            return []
        return await self.ctx.accounts.invites.pending()

    async def log_tail(self) -> list[str]:
        """The end of app.log, read on the executor."""
        path = self.ctx.settings.logs_dir / "app.log"
        return await asyncio.get_running_loop().run_in_executor(
            self.ctx.uploads.executor, tail_lines, path, LOG_LINES
        )

    async def image_list(self) -> dict:
        """A page of the image list, searched (`q`) and filtered by owner (`owner`), with the
        names of the accounts that own them, for the template."""
        query = self.get_argument("q", "").strip()
        owner_arg = self.get_argument("owner", "")
        owner = owner_filter(owner_arg)
        images = await newest_page(
            self.ctx.repo, self.get_argument("before", ""), PAGE_SIZE, search=query, owner=owner
        )
        accounts = {r.owner.removeprefix(OWNER_PREFIX) for r in images.records}
        if owner:
            accounts.add(owner.removeprefix(OWNER_PREFIX))
        names = await self.ctx.accounts.users.names(sorted(accounts))
        return {
            "images": images, "query": query, "owner": owner_arg,
            "owners": {OWNER_PREFIX + key: name for key, name in names.items()},
        }  # fmt: skip


def safe_next(url: str) -> str:
    """Only admin pages of this site are places to return to after signing in."""
    if url.startswith(("/admin", "/backup/")) and not url.startswith("//") and "\\" not in url:
        return url
    return "/admin"


class LoginHandler(AdminBase, SignInHandler):
    """The admin's sign-in: the account sign-in, its name filled in (ADMIN_USERNAME)."""

    template = "admin_login.html"
    action = LOGIN_URL

    def safe_next(self, url: str) -> str:
        return safe_next(url)

    def form(self, **args) -> dict:
        return {"action": self.action, "username": self.ctx.settings.admin_username, **args}

    def submitted_username(self) -> str:
        return self.get_body_argument("username", self.ctx.settings.admin_username).strip()

    async def get(self) -> None:
        await self.require_open()
        super().get()

    async def post(self) -> None:
        await self.require_open()
        await super().post()


class LogoutHandler(AdminBase, SignOutHandler):
    after = LOGIN_URL


class PanelHandler(AdminHandler):
    async def get(self) -> None:
        ctx = self.ctx
        midnight = datetime.combine(datetime.now(UTC).date(), time(), tzinfo=UTC)
        totals, image_list = await asyncio.gather(
            ctx.repo.totals(since=midnight), self.image_list()
        )
        free, backups, status, log, invites = await asyncio.gather(
            ctx.storage.free_bytes(),
            ctx.backups.list_files(),
            ctx.backups.status(),
            self.log_tail(),
            self.invites(),
        )
        self.render(
            "admin.html", totals=totals, free=free, backups=backups, status=status, log=log,
            invites=invites, new_link="", **image_list,
        )  # fmt: skip


class ImagesHandler(AdminHandler):
    """The image list, searched, filtered and paged: rows for htmx; others go to the panel."""

    async def get(self) -> None:
        self.respond(
            fragment="_admin_images.html",
            redirect="/admin?" + urlencode(self.request.query_arguments, doseq=True),
            **await self.image_list(),
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


class InvitesHandler(AdminHandler):
    """POST /admin/invites: a new one-time sign-up link, shown this once."""

    async def post(self) -> None:
        days = self.ctx.settings.invite_days
        token = await self.ctx.accounts.invites.create(self.current_user.id, days * 86400)
        self.respond(
            fragment="_admin_invites.html", page="admin_invites.html",
            new_link=f"{self.base_url}/invite/{token}", invites=await self.invites(),
        )  # fmt: skip


class InviteDeleteHandler(AdminHandler):
    """POST /admin/invites/<id>/delete: the link stops working."""

    async def post(self, invite_id: str) -> None:
        await self.ctx.accounts.invites.revoke(invite_id)
        self.respond(
            fragment="_admin_invites.html", redirect="/admin", new_link="",
            invites=await self.invites(),
        )  # fmt: skip
