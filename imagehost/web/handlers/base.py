"""BaseHandler: dependencies, content negotiation, owner cookie, security headers, errors."""

import json
import secrets
from http import HTTPStatus

from loguru import logger
from tornado.web import HTTPError, RequestHandler

from ...cards import Card, card_for
from ...context import AppContext
from ...database import DatabaseUnavailable, ImageRecord
from ...logsetup import one_line, redact
from ...refusal import Refusal
from ...storage import StorageFull
from ...uploads import Upload

OWNER_COOKIE = "owner"
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "object-src 'none'"
)


class BaseHandler(RequestHandler):
    def initialize(self, ctx: AppContext) -> None:
        self.ctx = ctx
        # Counted so a graceful stop can wait for requests in flight.
        self.application.inflight += 1
        self._counted = True

    def on_finish(self) -> None:
        self._uncount()

    def on_connection_close(self) -> None:
        super().on_connection_close()
        self._uncount()

    def _uncount(self) -> None:
        if self._counted:
            self._counted = False
            self.application.inflight -= 1

    def set_default_headers(self) -> None:
        self.set_header("Content-Security-Policy", PAGE_CSP)
        self.set_header("X-Frame-Options", "DENY")
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Referrer-Policy", "same-origin")

    # -- who is asking, and what they want back ------------------------------------------
    def wants(self) -> str:
        """'json', 'html' or 'text', from the Accept header (curl's */* gets text).

        htmx sends no Accept header of its own, but always wants HTML.
        """
        if self.is_htmx:
            return "html"
        accept = self.request.headers.get("Accept", "").lower()
        if "application/json" in accept:
            return "json"
        if "text/html" in accept:
            return "html"
        return "text"

    @property
    def is_htmx(self) -> bool:
        return self.request.headers.get("HX-Request") == "true"

    def render_html(self, page: str, fragment: str, **kwargs) -> None:
        """The fragment alone for htmx, the whole page otherwise: the one place that picks.

        Both get the same arguments, so a fragment never skips a check the page makes.
        """
        self.add_header("Vary", "HX-Request")
        self.render(fragment if self.is_htmx else page, **kwargs)

    def owner_id(self, create: bool = False) -> str:
        """The anonymous owner id from the signed cookie; a new one when `create`."""
        value = self.get_signed_cookie(OWNER_COOKIE, max_age_days=3650)
        if value:
            return value.decode()
        if not create:
            return ""
        owner = secrets.token_urlsafe(16)
        self.set_signed_cookie(
            OWNER_COOKIE, owner, expires_days=3650, httponly=True, samesite="Lax",
            secure=self.request.protocol == "https",
        )  # fmt: skip
        return owner

    def absolute_url(self, path: str) -> str:
        base = self.ctx.settings.public_url or f"{self.request.protocol}://{self.request.host}"
        return base + path

    def image_links(self, record: ImageRecord) -> dict:
        return {
            "url": self.absolute_url(f"/images/{record.name}"),
            "path": f"/images/{record.name}",
            "thumbnail_url": self.absolute_url(f"/images/{record.thumbnail}"),
        }

    def delete_url(self, upload: Upload) -> str:
        return self.absolute_url(f"/delete/{upload.record.name}/{upload.delete_token}")

    def image_json(self, record: ImageRecord) -> dict:
        """What anyone may know of an image (the client's file name stays private)."""
        links = self.image_links(record)
        return {
            "url": links["url"],
            "path": links["path"],
            "name": record.name,
            "format": record.format,
            "width": record.width,
            "height": record.height,
            "size": record.size,
            "thumbnail_url": links["thumbnail_url"],
            # Milliseconds: what MongoDB keeps, so the upload's answer and later reads agree.
            "created_at": record.created_at.isoformat(timespec="milliseconds"),
        }

    def upload_json(self, upload: Upload) -> dict:
        """The JSON answer to a new upload (/upload and the API): the image and how to delete it."""
        return {
            **self.image_json(upload.record),
            "delete_url": self.delete_url(upload),
            "delete_token": upload.delete_token,
        }

    # -- records, with the database's failures answered as 503 -------------------------
    async def find_image(self, name: str) -> ImageRecord | None:
        try:
            return await self.ctx.repo.get(name)
        except DatabaseUnavailable as exc:
            self.fail(*http_error_for(exc))

    async def delete_image(self, record: ImageRecord, by: str) -> None:
        try:
            await self.ctx.uploads.delete(record)
        except DatabaseUnavailable as exc:
            self.fail(*http_error_for(exc))
        logger.info(f"image deleted ip={self.request.remote_ip} name={record.name} by={by}")

    def card(self, record: ImageRecord) -> Card:
        # The thumbnail stays a same-origin path: the page's CSP allows img-src 'self' only.
        return card_for(record, self.image_links(record)["url"], f"/images/{record.thumbnail}")

    def check_xsrf_cookie(self) -> None:
        # API clients (curl, ShareX) send no cookies and so carry no ambient authority;
        # a browser always has our cookies, and then the token is required.
        if self.request.cookies:
            super().check_xsrf_cookie()

    # -- errors ------------------------------------------------------------------------
    def fail(self, status: int, message: str) -> None:
        raise HTTPError(status, reason=HTTPStatus(status).phrase, log_message=message)

    def log_exception(self, typ, value, tb) -> None:
        if isinstance(value, HTTPError):
            return
        logger.opt(exception=(typ, value, tb)).error(
            f"unhandled error on {self.request.method} {one_line(redact(self.request.path))}"
        )

    def write_error(self, status_code: int, **kwargs) -> None:
        message = self.error_message(status_code, kwargs.get("exc_info"))
        self.clear_header("Content-Disposition")
        if self.wants() == "json":
            self.set_header("Content-Type", "application/json")
            self.finish(json.dumps({"error": message}))
        elif self.wants() == "html":
            self.render_html("error.html", "_error.html", status=status_code, message=message)
        else:
            self.set_header("Content-Type", "text/plain; charset=utf-8")
            self.finish(f"error: {message}\n")

    @staticmethod
    def error_message(status_code: int, exc_info) -> str:
        exc = exc_info[1] if exc_info else None
        if isinstance(exc, HTTPError) and exc.log_message:
            return exc.log_message % exc.args if exc.args else exc.log_message
        try:
            return HTTPStatus(status_code).phrase.lower()
        except ValueError:
            return "error"


def http_error_for(exc: Exception) -> tuple[int, str]:
    """The status and message a known failure is answered with."""
    if isinstance(exc, Refusal):
        return exc.status, exc.message
    if isinstance(exc, DatabaseUnavailable):
        return 503, "the database is unavailable; nothing was stored, please try again shortly"
    if isinstance(exc, StorageFull):
        return 507, "the server's image storage is full; nothing was stored"
    raise exc


def log_request(handler: RequestHandler) -> None:
    """Tornado's per-request line, through loguru and without secrets: server errors as ERROR,
    the rest at DEBUG (nginx's access log has every request; uploads log their own result)."""
    request = handler.request
    status = handler.get_status()
    line = (
        f"request {status} {request.method} {one_line(redact(request.uri or ''))} "
        f"ip={request.remote_ip} {1000 * request.request_time():.0f}ms"
    )
    (logger.error if status >= 500 else logger.debug)(line)


class NotFoundHandler(BaseHandler):
    def prepare(self) -> None:
        self.fail(404, "no such page")
