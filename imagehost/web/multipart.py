"""A strict multipart/form-data parser for upload bodies: clear errors instead of guesses."""

import re
from dataclasses import dataclass

from tornado.httputil import _parse_header

from ..i18n.languages import N_
from ..refusal import Refusal


class MultipartError(Refusal):
    """The body is not a well-formed multipart/form-data body; the message says how."""

    def __init__(self, status: int, message: str, **values) -> None:
        code = "not_multipart" if status == 415 else "malformed_request"
        super().__init__(status, code, message, **values)


@dataclass(frozen=True)
class Part:
    name: str
    filename: str | None
    content_type: str
    data: bytes


_BOUNDARY_OK = re.compile(r"^[0-9A-Za-z'()+_,\-./:=? ]{1,70}$")


def boundary_of(content_type: str) -> bytes:
    """The boundary from a Content-Type header, or MultipartError(415/400)."""
    kind, params = _parse_header(content_type or "")
    if kind.lower() != "multipart/form-data":
        raise MultipartError(
            415, N_("send the image as multipart/form-data with one part named 'file'")
        )
    boundary = params.get("boundary", "")
    if not _BOUNDARY_OK.match(boundary):
        raise MultipartError(400, N_("the multipart body has no valid boundary"))
    return boundary.encode("ascii")


def parse_multipart(body: bytes, boundary: bytes) -> list[Part]:
    """Split a body into its parts; every part must have headers and a name."""
    delimiter = b"--" + boundary
    start = body.find(delimiter)
    if start == -1:
        raise MultipartError(400, N_("the multipart body is malformed: no boundary found"))
    end = body.find(b"\r\n" + delimiter + b"--", start)
    if end == -1:
        raise MultipartError(400, N_("the multipart body is malformed: it has no closing boundary"))
    # Offsets instead of slices: an upload body is megabytes, so only each part's data is copied.
    separator = b"\r\n" + delimiter
    parts = []
    pos = start + len(delimiter)
    while pos <= end:
        found = body.find(separator, pos, end)
        stop = end if found == -1 else found
        if not body.startswith(b"\r\n", pos, stop):
            raise MultipartError(400, N_("the multipart body is malformed: bad boundary line"))
        head_end = body.find(b"\r\n\r\n", pos + 2, stop)
        if head_end == -1:
            raise MultipartError(400, N_("the multipart body is malformed: a part has no headers"))
        parts.append(_part(body[pos + 2 : head_end], body[head_end + 4 : stop]))
        pos = stop + len(separator)
    if not parts:
        raise MultipartError(400, N_("the multipart body has no parts"))
    return parts


def _part(head: bytes, data: bytes) -> Part:
    headers: dict[str, str] = {}
    for line in head.decode("utf-8", "replace").split("\r\n"):
        key, sep, value = line.partition(":")
        if not sep:
            raise MultipartError(400, N_("the multipart body is malformed: bad part header"))
        headers[key.strip().lower()] = value.strip()
    disposition, params = _parse_header(headers.get("content-disposition", ""))
    if disposition.lower() != "form-data" or "name" not in params:
        raise MultipartError(
            400, N_("a multipart part lacks Content-Disposition: form-data; name=")
        )
    return Part(
        name=params["name"],
        filename=params.get("filename"),
        content_type=headers.get("content-type", "text/plain"),
        data=data,
    )


def single_file(parts: list[Part], field: str = "file") -> Part:
    """The one file part named `field`; other plain fields (such as _xsrf) are allowed."""
    files = [p for p in parts if p.filename is not None]
    named = [p for p in files if p.name == field]
    if len(files) > 1:
        raise MultipartError(400, N_("send one file per request (got {count:,})"), count=len(files))
    if not named:
        if files:
            raise MultipartError(
                400, N_("the file must be sent in a part named '{field}'"), field=field
            )
        raise MultipartError(
            400, N_("no file: send the image in a part named '{field}'"), field=field
        )
    return named[0]


def field_value(parts: list[Part], field: str) -> str | None:
    """The text of the one plain (not file) field named `field`; None when it was not sent."""
    found = [p for p in parts if p.name == field and p.filename is None]
    if len(found) > 1:
        raise MultipartError(400, N_("send the '{field}' field once"), field=field)
    if not found:
        return None
    try:
        return found[0].data.decode("utf-8")
    except UnicodeDecodeError:
        raise MultipartError(
            400, N_("the '{field}' field is not UTF-8 text"), field=field
        ) from None
