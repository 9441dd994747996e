"""BaseHandler: dependencies, content negotiation, owner cookie, security headers, errors."""

import secrets
from functools import partial
from http import HTTPStatus

import tornado.locale
from loguru import logger
from tornado.escape import json_encode
from tornado.web import HTTPError, MissingArgumentError, RequestHandler

from ...accounts.quotas import limits_of, size_text
from ...accounts.sessions import SESSION_COOKIE
from ...accounts.users import User
from ...backups.status import outcome_text, phase_text
from ...cards import Card, expiry_note, facts
from ...context import AppContext
from ...database import DatabaseUnavailable, ImageRecord
from ...i18n import formats
from ...i18n.catalogs import script_catalogue
from ...i18n.languages import LANGUAGES, N_, choose_language, language_name
from ...images.check import ImageRejected
from ...logsetup import one_line, redact
from ...refusal import Refusal
from ...storage import IMAGE_EXTENSIONS, StorageFull
from .. import views
from ..views import image_path

OWNER_COOKIE = "owner"
# The anonymous owner cookie is signed; it is both sent and accepted for ten years.
OWNER_COOKIE_DAYS = 3650
LANGUAGE_COOKIE = "lang"
LANGUAGE_COOKIE_DAYS = 365
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "object-src 'none'"
)


class BaseHandler(RequestHandler):
    # htmx gets a fragment (or HX-Redirect) where a browser gets the page at the same URL:
    # a cache must keep the two apart. The API answers JSON to all and varies on Origin.
    VARY = "HX-Request"
    # Whether `Authorization: Bearer <token>` signs the request in (/upload and the API).
    TOKENS = False

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
        # Every answer may be in the reader's language (an error, at least).
        self.set_header("Vary", f"{self.VARY}, Accept-Language")

    # -- who is asking, and what they want back ------------------------------------------
    async def prepare(self) -> None:
        await self.identify()

    async def identify(self) -> None:
        """Who is signed in, from an API token (where TOKENS allows one) or else the session
        cookie: every request asks the database, so a sign-out, a revoked token or a disabled
        account counts at once in every process. A token that is not good is refused (401)."""
        self.current_user = None
        token = self.bearer_token()
        if token is not None:
            self.current_user = await self.ctx.accounts.user_for_token(token)
            if self.current_user is None:
                raise Refusal(
                    401, "bad_token",
                    N_("the API token is not valid (revoked, mistyped, or its account is "
                       "disabled)"),
                )  # fmt: skip
            return
        raw = self.get_cookie(SESSION_COOKIE)
        if raw:
            self.current_user = await self.ctx.accounts.user_for_session(raw)
            if self.current_user is None:
                self.clear_cookie(SESSION_COOKIE)

    def bearer_token(self) -> str | None:
        """The API token this request carries, where TOKENS lets one sign it in."""
        scheme, _, token = self.request.headers.get("Authorization", "").partition(" ")
        if self.TOKENS and scheme.lower() == "bearer":
            return token.strip()
        return None

    def signed_in_user(self) -> User | None:
        """The signed-in user, or None for an anonymous visitor."""
        return self.current_user

    def wants(self) -> str:
        """What this client wants back: "fragment", "page", "json" or "text" (curl's */*).

        The one place that reads HX-Request and Accept. htmx sends no Accept header of its
        own, but always wants a fragment.
        """
        if self.request.headers.get("HX-Request") == "true":
            return "fragment"
        accept = self.request.headers.get("Accept", "").lower()
        if "application/json" in accept:
            return "json"
        if "text/html" in accept:
            return "page"
        return "text"

    def get_user_locale(self) -> tornado.locale.Locale:
        """The one place the language is chosen: the signed-in user's own choice (it follows
        them to every browser), the switcher's cookie, Accept-Language, DEFAULT_LANGUAGE."""
        user = self.current_user
        return tornado.locale.get(
            choose_language(
                (user.language if user else "", self.get_cookie(LANGUAGE_COOKIE, "")),
                self.request.headers.get("Accept-Language", ""),
                self.ctx.settings.default_language,
            )
        )

    def keep_language(self, language: str) -> None:
        """Keep the reader's choice in this browser's cookie ("" forgets it)."""
        if not language:
            self.clear_cookie(LANGUAGE_COOKIE)
            return
        self.set_cookie(
            LANGUAGE_COOKIE, language, expires_days=LANGUAGE_COOKIE_DAYS, httponly=True,
            samesite="Lax", secure=self.request.protocol == "https",
        )  # fmt: skip

    def get_template_namespace(self) -> dict:
        namespace = super().get_template_namespace()
        language, translate = self.locale.code, self.locale.translate
        namespace.update(
            facts=partial(facts, language=language, translate=translate),
            expiry_note=partial(expiry_note, language=language, translate=translate),
            image_path=image_path,
            number=partial(formats.number, language=language),
            percent=partial(formats.percent, language=language),
            size=partial(formats.size, language=language, translate=translate),
            image_count=partial(formats.image_count, language=language, translate=translate),
            byte_count=partial(formats.byte_count, language=language, translate=translate),
            date_time=partial(formats.date_time, language=language),
            duration=partial(formats.duration, language=language),
            backup_phase=partial(phase_text, language=language, translate=translate),
            backup_outcome=partial(outcome_text, language=language, translate=translate),
            languages=[(code, language_name(code)) for code in LANGUAGES],
            script_messages=script_catalogue(self.locale),
            user=self.current_user,
            settings=self.ctx.settings,
            quota_limits=partial(limits_of, defaults=self.ctx.settings.quota),
            size_text=size_text,
        )
        return namespace

    def respond(
        self,
        *,
        page: str | None = None,
        fragment: str | None = None,
        json: dict | None = None,
        text: str | None = None,
        redirect: str | None = None,
        **template_args,
    ) -> None:
        """Answer in the form wants() names, from the forms given; the others fall back.

        `page` and `fragment` are templates, both rendered with `template_args`, so a fragment
        never skips a check the page makes; either stands in for the other, and for JSON or
        text when those are not given. `redirect` stands in for a page: a 303 after a POST
        (302 for a GET), and HX-Redirect for htmx when there is no template to send.
        `fragment=""` answers htmx with an empty body: the target is swapped for nothing.
        """
        wants = self.wants()
        if wants == "json" and json is not None:
            # No charset parameter: JSON is UTF-8 by definition, and nginx's own JSON errors
            # are sent the same way.
            self.set_header("Content-Type", "application/json")
            self.finish(json_encode(json))
        elif wants == "text" and text is not None:
            self.set_header("Content-Type", "text/plain; charset=utf-8")
            self.finish(text)
        elif wants == "fragment":
            if fragment == "":
                self.finish("")
            elif fragment or page:
                self.render(fragment or page, **template_args)
            else:
                self.set_header("HX-Redirect", redirect)
                self.finish()
        elif page:
            self.render(page, **template_args)
        elif redirect:
            self.redirect(redirect, status=302 if self.request.method in ("GET", "HEAD") else 303)
        else:
            self.render(fragment, **template_args)

    def owner_id(self, create: bool = False) -> str:
        """The owner key of what this request makes: the signed-in user's `user:<id>`, else
        the anonymous owner id from the signed cookie (a new one when `create`)."""
        if self.current_user is not None:
            return self.current_user.owner
        return self.anonymous_owner(create)

    def anonymous_owner(self, create: bool = False) -> str:
        """This browser's anonymous owner id (signed in or not); a new one when `create`."""
        value = self.get_signed_cookie(OWNER_COOKIE, max_age_days=OWNER_COOKIE_DAYS)
        if value:
            return value.decode()
        if not create:
            return ""
        owner = secrets.token_urlsafe(16)
        self.set_signed_cookie(
            OWNER_COOKIE, owner, expires_days=OWNER_COOKIE_DAYS, httponly=True, samesite="Lax",
            secure=self.request.protocol == "https",
        )  # fmt: skip
        return owner

    @property
    def base_url(self) -> str:
        """The site's own URL, for links that leave the page (PUBLIC_URL when set)."""
        return self.ctx.settings.public_url or f"{self.request.protocol}://{self.request.host}"

    # -- records -------------------------------------------------------------------------
    async def find_image(self, name: str) -> ImageRecord | None:
        """The image of that name; None when there is none or its time is up (the sweeper
        may not have deleted it yet)."""
        return live(await self.ctx.repo.get(name))

    async def find_by_stem(self, stem: str) -> ImageRecord | None:
        return live(await self.ctx.repo.get_by_stem(stem, IMAGE_EXTENSIONS))

    async def delete_image(self, record: ImageRecord, by: str) -> None:
        await self.ctx.uploads.delete(record)
        logger.info(f"image deleted ip={self.request.remote_ip} name={record.name} by={by}")

    def card(self, record: ImageRecord) -> Card:
        return views.card(record, self.base_url)

    def check_xsrf_cookie(self) -> None:
        # API clients (curl, ShareX) send no cookies and so carry no ambient authority;
        # a browser always has our cookies, and then the token is required. A request signed
        # in by its API token is its own authority (its cookies are not looked at).
        if self.request.cookies and self.bearer_token() is None:
            super().check_xsrf_cookie()

    # -- errors: the one place a failure becomes an answer -------------------------------
    def log_exception(self, typ, value, tb) -> None:
        if isinstance(value, (HTTPError, *ANSWERED)):
            return
        logger.opt(exception=(typ, value, tb)).error(
            f"unhandled error on {self.request.method} {one_line(redact(self.request.path))}"
        )

    def write_error(self, status_code: int, **kwargs) -> None:
        exc = kwargs["exc_info"][1] if "exc_info" in kwargs else None
        refusal = refusal_for(exc, status_code, self.request.method or "")
        self.set_status(refusal.status)
        if refusal.code == "bad_token" or (
            refusal.code == "account_gone" and self.bearer_token() is not None
        ):
            self.set_header("WWW-Authenticate", 'Bearer error="invalid_token"')
        message = refusal.text(self.locale.code, self.locale.translate)
        self.clear_header("Content-Disposition")
        self.respond(
            json={"error": message, "code": refusal.code}, text=f"error: {message}\n",
            page="error.html", fragment="_error.html", status=refusal.status, message=message,
        )  # fmt: skip


def live(record: ImageRecord | None) -> ImageRecord | None:
    return None if record is None or record.expired() else record


# The failures that have an answer of their own; any other exception is a 500 (and logged).
ANSWERED = (Refusal, ImageRejected, DatabaseUnavailable, StorageFull)


def refusal_for(exc: BaseException | None, status: int = 500, method: str = "") -> Refusal:
    """Every failure as the Refusal it is answered with: ours as raised; the database's,
    the storage's and Tornado's own (XSRF, a missing field, a method) given a code and words."""
    if isinstance(exc, Refusal):
        return exc
    if isinstance(exc, ImageRejected):
        return Refusal(exc.status, exc.code, exc.template, **exc.values)
    if isinstance(exc, DatabaseUnavailable):
        return Refusal(
            503, "database_unavailable",
            N_("the database is unavailable; nothing was stored, please try again shortly"),
        )  # fmt: skip
    if isinstance(exc, StorageFull):
        return Refusal(
            507, "storage_full", N_("the server's image storage is full; nothing was stored")
        )
    if isinstance(exc, MissingArgumentError):
        return Refusal(
            400, "malformed_request", N_("the request lacks its '{name}' field"), name=exc.arg_name
        )
    detail = exc.log_message % exc.args if isinstance(exc, HTTPError) and exc.log_message else ""
    if status == 403 and "xsrf" in detail.lower():
        return Refusal(
            403, "xsrf",
            N_("the request carries this site's cookies but not its XSRF token ({detail}); "
               "reload the page and try again"),
            detail=detail,
        )  # fmt: skip
    if status == 405:
        return Refusal(
            405, "method_not_allowed", N_("this URL does not take {method} requests"),
            method=method,
        )  # fmt: skip
    if status == 404:
        return Refusal(404, "not_found", N_("no such page"))
    if status < 500:
        phrase = HTTPStatus(status).phrase.lower() if status in HTTPStatus else "error"
        return Refusal(status, "malformed_request", N_("the request was refused ({detail})"),
                       detail=detail or phrase)  # fmt: skip
    return Refusal(status, "server_error", N_("the server failed to answer this request"))


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
        raise refusal_for(None, 404)
