"""The versioned JSON API under /api/: upload, read and delete images, and its OpenAPI document.

Every answer here is JSON, errors included. Browsers on other origins may call it only from
the origins CORS_ORIGINS lists (none by default); no credentials are ever allowed cross-origin.
"""

from ...accounts.quotas import standing
from ...gallery import BadCursor, owner_page
from ...i18n.languages import N_
from ...refusal import Refusal
from .. import views
from ..openapi import (
    API_PREFIX,
    CORS_MAX_AGE_SECONDS,
    CORS_REQUEST_HEADERS,
    DELETE_TOKEN_HEADER,
    openapi_document,
)
from .base import BaseHandler
from .upload import UploadReceiver

MY_IMAGES_DEFAULT, MY_IMAGES_MAX = 24, 100


class ApiHandler(BaseHandler):
    VARY = "Origin"  # JSON for every client; only the CORS headers differ
    TOKENS = True
    methods: tuple[str, ...] = ()

    def initialize(self, ctx) -> None:
        super().initialize(ctx)
        self.set_cors_headers()

    def set_default_headers(self) -> None:
        super().set_default_headers()
        # Called again by clear() before an error is written, so browsers can read errors
        # too; the first call comes before initialize(), when there are no settings yet.
        if hasattr(self, "ctx"):
            self.set_cors_headers()

    def wants(self) -> str:
        return "json"

    def write_error(self, status_code: int, **kwargs) -> None:
        if status_code == 405:
            self.set_header("Allow", self.allow_header())
        super().write_error(status_code, **kwargs)

    def allow_header(self) -> str:
        return ", ".join((*self.methods, "OPTIONS"))

    # -- CORS ------------------------------------------------------------------------------
    def allowed_origin(self) -> str:
        """The Access-Control-Allow-Origin value for this request; "" when not allowed."""
        origin = self.request.headers.get("Origin", "")
        allowed = self.ctx.settings.cors_origins
        if not origin or not allowed:
            return ""
        if allowed == ("*",):
            return "*"
        return origin if origin.lower() in allowed else ""

    def set_cors_headers(self) -> None:
        origin = self.allowed_origin()
        if origin:
            self.set_header("Access-Control-Allow-Origin", origin)
            self.set_header("Access-Control-Expose-Headers", "Location")

    def options(self, *args: str) -> None:
        """A CORS preflight: allowed origins learn the methods and headers they may use."""
        if "Origin" in self.request.headers:
            if not self.allowed_origin():
                raise Refusal(
                    403, "origin_not_allowed",
                    N_("cross-origin requests from this origin are not allowed"),
                )  # fmt: skip
            self.set_header("Access-Control-Allow-Methods", ", ".join(self.methods))
            self.set_header("Access-Control-Allow-Headers", CORS_REQUEST_HEADERS)
            self.set_header("Access-Control-Max-Age", str(CORS_MAX_AGE_SECONDS))
        self.set_header("Allow", self.allow_header())
        self.set_status(204)
        self.finish()


class ApiImagesHandler(ApiHandler, UploadReceiver):
    """POST /api/v1/images: the same streamed, checked upload as /upload; always JSON."""

    methods = ("POST",)

    async def post(self) -> None:
        upload = await self.receive()
        self.set_status(201)
        self.set_header("Location", f"{self.base_url}{API_PREFIX}/images/{upload.record.name}")
        self.respond(json=views.upload_json(upload, self.base_url))


class ApiImageHandler(ApiHandler):
    """GET /api/v1/images/<name> (metadata); DELETE with the token in X-Delete-Token."""

    methods = ("GET", "DELETE")

    async def get(self, name: str) -> None:
        record = await self.find_image(name)
        if record is None:
            raise Refusal(404, "not_found", N_("no such image"))
        self.respond(json=views.image_json(record, self.base_url))

    async def delete(self, name: str) -> None:
        token = self.request.headers.get(DELETE_TOKEN_HEADER, "").strip()
        if not token:
            raise Refusal(
                400, "missing_delete_token",
                N_("send the image's delete token in the {header} header"),
                header=DELETE_TOKEN_HEADER,
            )  # fmt: skip
        record = await self.find_image(name)
        if record is None:
            raise Refusal(404, "not_found", N_("no such image"))
        if not self.ctx.uploads.token_matches(record, token):
            raise Refusal(
                403, "wrong_delete_token", N_("the delete token does not match this image")
            )
        await self.delete_image(record, by="api")
        self.respond(json={"deleted": name})


class ApiSignedInHandler(ApiHandler):
    """What the caller's own endpoints share: a token (or a session) is required."""

    async def prepare(self) -> None:
        await super().prepare()
        if self.signed_in_user() is None and self.request.method != "OPTIONS":
            raise Refusal(
                401, "sign_in_required",
                N_("send an API token (Authorization: Bearer ...) or sign in first"),
            )  # fmt: skip


class ApiMeHandler(ApiSignedInHandler):
    """GET /api/v1/me: who the token (or session) belongs to."""

    methods = ("GET",)

    async def get(self) -> None:
        user = self.signed_in_user()
        where = await standing(self.ctx.repo, user, self.ctx.settings.quota)
        self.respond(json=views.user_json(user, where))


class ApiMyImagesHandler(ApiSignedInHandler):
    """GET /api/v1/me/images?before=<cursor>&limit=<n>: the caller's images, newest first."""

    methods = ("GET",)

    async def get(self) -> None:
        raw = self.get_argument("limit", str(MY_IMAGES_DEFAULT))
        if not raw.isdigit() or not 1 <= int(raw) <= MY_IMAGES_MAX:
            raise Refusal(
                400, "malformed_request", N_("limit must be a whole number from 1 to {high}"),
                high=MY_IMAGES_MAX,
            )  # fmt: skip
        before = self.get_query_argument("before", None)
        if before == "":  # the first page is asked for without it
            raise BadCursor()
        page = await owner_page(self.ctx.repo, self.signed_in_user().owner, before or "", int(raw))
        self.respond(
            json={
                "images": [views.image_json(record, self.base_url) for record in page.records],
                "next": page.next_cursor or None,
            }
        )


class OpenApiHandler(ApiHandler):
    methods = ("GET",)

    def get(self) -> None:
        self.finish(openapi_document(self.base_url, self.ctx.settings.max_upload_bytes))


class ApiNotFoundHandler(ApiHandler):
    def prepare(self) -> None:
        raise Refusal(404, "not_found", N_("no such API endpoint; see /api/openapi.json"))
