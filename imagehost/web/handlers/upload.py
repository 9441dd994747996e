"""Receiving an upload (streamed, bounded, strictly parsed) and POST /upload's negotiated answer."""

from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial

from loguru import logger
from tornado.web import stream_request_body

from ...i18n.languages import N_
from ...logsetup import one_line
from ...refusal import Refusal
from ...uploads import Upload
from .. import views
from ..multipart import boundary_of, field_value, parse_multipart, single_file
from .base import ANSWERED, BaseHandler, refusal_for


@stream_request_body
class UploadReceiver(BaseHandler):
    """What /upload and the API's POST share: read the body within the limit, store its file.

    Subclasses call `await self.receive()` in post() and answer the Upload their own way;
    every refusal is raised and rendered by write_error.
    """

    TOKENS = True
    _admitted = False
    _closed = False

    async def prepare(self) -> None:
        self._chunks: list[bytes] = []
        self._received = 0
        self._too_large = False
        self._boundary = b""
        self._file_size: int | None = None
        self.original_name = ""
        with self.refusals_logged():
            await self.identify()
            if self.request.method != "POST":
                return
            if not self.ctx.settings.anonymous_uploads and self.signed_in_user() is None:
                raise Refusal(
                    401, "sign_in_required",
                    N_("this site takes uploads only from signed-in users (or with an API token)"),
                )  # fmt: skip
            limit = self.ctx.settings.max_body_bytes
            declared = self.request.headers.get("Content-Length")
            if declared is not None and declared.isdigit() and int(declared) > limit:
                # Answer before reading the body: a 40 MiB body is never read.
                raise self.too_large()
            self._boundary = boundary_of(self.request.headers.get("Content-Type", ""))
        # Tornado reads a streamed body only once prepare() returns: waiting here is what
        # bounds how many bodies this process holds.
        await self.ctx.uploads.admit()
        self._admitted = True
        if self._closed:
            self._leave()

    def on_finish(self) -> None:
        self._leave()
        super().on_finish()

    def on_connection_close(self) -> None:
        self._closed = True
        self._leave()
        super().on_connection_close()

    def _leave(self) -> None:
        if self._admitted:
            self._admitted = False
            self.ctx.uploads.release()

    def data_received(self, chunk: bytes) -> None:
        self._received += len(chunk)
        if self._received > self.ctx.settings.max_body_bytes:
            self._too_large = True
            self._chunks.clear()
        elif not self._too_large:
            self._chunks.append(chunk)

    def check_xsrf_cookie(self) -> None:
        # Deferred: with a streamed body the form's _xsrf field is only known in receive().
        pass

    async def receive(self) -> Upload:
        """Parse the body, check XSRF (when cookies came), store the one file; log either way."""
        with self.refusals_logged():
            if self._too_large:
                raise self.too_large()
            body = b"".join(self._chunks)
            self._chunks.clear()
            parts = parse_multipart(body, self._boundary)
            xsrf = [p.data.decode("ascii", "replace") for p in parts if p.name == "_xsrf"]
            if xsrf:
                self.request.arguments["_xsrf"] = [x.encode() for x in xsrf]
            super().check_xsrf_cookie()
            part = single_file(parts)
            self.original_name = part.filename or ""
            self._file_size = len(part.data)
            album_ids = [p.data.decode("utf-8", "replace") for p in parts if p.name == "album"]
            expires_in = self.ctx.settings.expiry.choose(
                field_value(parts, "expires_in"), signed_in=self.signed_in_user() is not None
            )
            del body, parts
            owner = self.owner_id(create=self.wants() in ("page", "fragment"))
            album = album_ids[-1].strip() if album_ids else ""
            if album:  # checked before anything is stored: someone else's album is refused
                await self.ctx.albums.owned(album, owner)
            user = self.signed_in_user()
            upload = await self.ctx.uploads.accept(
                part.data, part.filename, owner=owner, album=album, expires_in=expires_in,
                check=partial(self.ctx.accounts.check_upload, user) if user else None,
            )  # fmt: skip
        self.log_result("accepted", len(part.data), upload.record.name)
        return upload

    @contextmanager
    def refusals_logged(self) -> Iterator[None]:
        """Every upload gets its result line: a refusal is logged here, then let through."""
        try:
            yield
        except ANSWERED as exc:
            size = self._received if self._file_size is None else self._file_size
            self.log_result("refused", size, "-", refusal_for(exc).message)
            raise

    def log_result(self, result: str, size: int, name: str, reason: str = "") -> None:
        line = (
            f"upload {result} ip={self.request.remote_ip} size={size} name={name} "
            f"original={one_line(self.original_name)}"
        )
        if reason:
            line += f" reason={one_line(reason)}"
        (logger.info if result == "accepted" else logger.warning)(line)

    def too_large(self) -> Refusal:
        return Refusal(
            413, "too_large",
            N_("the file is too large; the limit is {limit:,} bytes ({limit:size})"),
            limit=self.ctx.settings.max_upload_bytes,
        )  # fmt: skip


class UploadHandler(UploadReceiver):
    """POST /upload: JSON, an HTML page or the bare link, as the Accept header asks."""

    async def post(self) -> None:
        upload = await self.receive()
        record = upload.record
        url = self.base_url + views.image_path(record.name)
        self.set_status(201)
        self.set_header("Location", url)
        self.respond(
            json=views.upload_json(upload, self.base_url), text=url + "\n",
            page="uploaded.html", fragment="_card.html",
            record=record, url=url, delete_url=self.base_url + views.delete_path(upload),
            card=self.card(record),
        )  # fmt: skip
