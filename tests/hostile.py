"""The hostile-input corpus: every case built in memory by the tests, with the answer it must get.

tests/web/test_hostile.py sends each case to the app, tests/e2e/test_hostile.py through nginx.
A refused case must get its status and message and leave nothing; an accepted one is stored
without the bytes listed in `absent`, and `check` looks at what was stored.
"""

import io
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache

from PIL import Image

from tests import images, tricky
from tests.images import chunk, multipart

LIMIT = 5 * 1024 * 1024
MIB = 1024 * 1024
UNSUPPORTED = "only JPEG, PNG or GIF"
DAMAGED = "damaged or incomplete"
MALFORMED = "multipart body is malformed"
SCRIPT = b"<script>alert(document.cookie)</script>"


@dataclass(frozen=True)
class Case:
    id: str
    status: int
    words: str = ""  # in the error message of a refused case
    data: Callable[[], bytes] | None = None  # the file, sent as the part named "file"
    filename: str = "upload.png"
    raw: Callable[[], tuple[bytes, str]] | None = None  # or a whole body and its Content-Type
    fmt: str = ""  # an accepted case's stored format
    absent: tuple[bytes, ...] = ()  # must not be in the stored (and served) file
    check: Callable[[dict, bytes], None] | None = None  # (record document, stored bytes)
    tags: frozenset[str] = field(default_factory=frozenset)

    @property
    def accepted(self) -> bool:
        return self.status == 201

    def request(self) -> tuple[bytes, str]:
        """The body and its Content-Type."""
        if self.raw is not None:
            return self.raw()
        assert self.data is not None
        return multipart([("file", self.filename, self.data())])


# -- generators -----------------------------------------------------------------------------


def png_with_chunk(extra: bytes) -> bytes:
    """A small PNG with `extra` chunk(s) right after IHDR."""
    data = images.png((8, 8))
    after_ihdr = 8 + 25
    return data[:after_ihdr] + extra + data[after_ihdr:]


@cache
def compression_bomb() -> bytes:
    """64 MiB of zeros in about 64 KB of zlib."""
    return zlib.compress(b"\0" * (64 * MIB), 9)


def png_claiming(width: int, height: int) -> bytes:
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")
    )  # fmt: skip


def gif_claiming(width: int, height: int) -> bytes:
    data = bytearray(images.gif((10, 10)))
    data[6:10] = struct.pack("<HH", width, height)
    descriptor = data.index(b"\x2c", 13)
    data[descriptor + 5 : descriptor + 9] = struct.pack("<HH", width, height)
    return bytes(data)


def truncated(data: bytes) -> bytes:
    return data[: len(data) // 2]


def bad_crc_png() -> bytes:
    data = bytearray(images.png((16, 16)))
    idat = data.index(b"IDAT")
    length = struct.unpack(">I", data[idat - 4 : idat])[0]
    data[idat + 4 + length] ^= 0xFF
    return bytes(data)


def js_gif_polyglot() -> bytes:
    """A valid GIF that is also valid JavaScript: width 10799 is `/*` in little-endian."""
    out = io.BytesIO()
    Image.new("P", (10799, 4)).save(out, "GIF")
    data = out.getvalue()
    assert data[6:8] == b"/*" and b"*/" not in data
    return data + b"*/=alert(document.domain);"


def gif_with_comment(comment: bytes) -> bytes:
    out = io.BytesIO()
    Image.new("P", (16, 16)).save(out, "GIF", comment=comment)
    return out.getvalue()


def svg() -> bytes:
    return b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)">' + SCRIPT + b"</svg>"


def other_format(fmt: str, size: tuple[int, int] = (16, 16)) -> Callable[[], bytes]:
    return lambda: images.encode(Image.new("RGB", size, (9, 99, 199)), fmt)


def raw_multipart(body: bytes, boundary: str = "b0undary42") -> Callable[[], tuple[bytes, str]]:
    return lambda: (body, f"multipart/form-data; boundary={boundary}")


def with_parts(parts: list) -> Callable[[], tuple[bytes, str]]:
    return lambda: multipart(parts)


def forty_mib_body() -> tuple[bytes, str]:
    return multipart([("file", "huge.jpg", b"\xff\xd8\xff" + b"\0" * (40 * MIB))])


# -- checks on what was stored --------------------------------------------------------------


def original_name_is(expected: str) -> Callable[[dict, bytes], None]:
    def check(record: dict, stored: bytes) -> None:
        assert record["original_name"] == expected

    return check


def keeps_profile_and_orientation(record: dict, stored: bytes) -> None:
    with Image.open(io.BytesIO(stored)) as image:
        assert image.info.get("icc_profile") == images.srgb_profile()
        exif = image.getexif()
        assert exif.get(0x0112) == 6  # orientation
        assert dict(exif) == {0x0112: 6}  # and nothing else: no GPS, no serial, no owner
        assert exif.get_ifd(0x8825) == {}


def keeps_every_frame_and_its_timing(record: dict, stored: bytes) -> None:
    with Image.open(io.BytesIO(stored)) as image:
        assert image.n_frames == 3
        durations = []
        for index in range(3):
            image.seek(index)
            durations.append(image.info["duration"])
        assert durations == [100, 200, 300]
        assert image.info.get("loop") == 0
        assert "comment" not in image.info


# -- the corpus -----------------------------------------------------------------------------

PNG = images.png
# A table, laid out by hand: one case per entry, its answer first.
# fmt: off
CASES: list[Case] = [
    # Not an image at all, whatever the name says.
    Case("text-named-png", 415, UNSUPPORTED, lambda: b"just some text\n", "notes.png"),
    Case("html-named-jpg", 415, UNSUPPORTED, lambda: b"<html>" + SCRIPT, "page.jpg"),
    Case("svg-named-svg", 415, UNSUPPORTED, svg, "drawing.svg"),
    Case("svg-named-png", 415, UNSUPPORTED, svg, "drawing.png"),
    Case("javascript-named-gif", 415, UNSUPPORTED, lambda: b"alert(1);//GIF89a", "x.gif"),
    Case("php-named-php-jpg", 415, UNSUPPORTED, lambda: images.PHP, "shell.php.jpg"),
    Case("pdf-named-png", 415, UNSUPPORTED, lambda: b"%PDF-1.4\n%\xe2\xe3\n1 0 obj", "doc.png"),
    # Real images of formats the host does not take.
    Case("bmp", 415, UNSUPPORTED, other_format("BMP"), "image.bmp"),
    Case("tiff", 415, UNSUPPORTED, other_format("TIFF"), "image.tiff"),
    Case("webp", 415, UNSUPPORTED, other_format("WEBP"), "image.webp"),
    Case("ico", 415, UNSUPPORTED, other_format("ICO"), "favicon.ico"),
    Case("bmp-named-png", 415, UNSUPPORTED, other_format("BMP"), "image.png"),
    # A real signature with something else behind it, or a broken image.
    Case("html-behind-gif89a", 422, DAMAGED, lambda: b"GIF89a" + b"<html>" + SCRIPT, "a.gif"),
    Case(
        "js-gif-polyglot-broken", 422, DAMAGED,
        lambda: b"GIF89a/*\0\0\0\0\0*/=alert(document.cookie);", "a.gif",
    ),
    Case("truncated-png", 422, DAMAGED, lambda: truncated(PNG((200, 200)))),
    Case("truncated-jpeg", 422, DAMAGED, lambda: truncated(images.jpeg((200, 200))), "a.jpg"),
    Case("truncated-gif", 422, DAMAGED, lambda: truncated(images.gif((200, 200))), "a.gif"),
    Case("png-bad-crc", 422, DAMAGED, bad_crc_png),
    Case("jpeg-signature-only", 422, DAMAGED, lambda: b"\xff\xd8\xff\xe0" + SCRIPT, "a.jpg"),
    # Decoded by Pillow, not by browsers: the link would show nothing.
    Case(
        "gif-lzw-code-size-9", 422, "browsers cannot decode",
        lambda: tricky.gif_with_code_sizes(9), "a.gif",
    ),
    # Bombs: tiny files that would take gigabytes to decode.
    Case("pixel-flood-png", 422, "30000x30000 pixels", lambda: png_claiming(30000, 30000)),
    Case("pixel-flood-gif", 422, "too large to decode safely", lambda: gif_claiming(65535, 65535)),
    Case(
        "ztxt-bomb", 422, "decompression bomb",
        lambda: png_with_chunk(chunk(b"zTXt", b"Comment\0\0" + compression_bomb())),
    ),
    Case(
        "ztxt-bomb-after-the-pixels", 422, "decompression bomb",
        lambda: PNG((8, 8))[:-12] + chunk(b"zTXt", b"Comment\0\0" + compression_bomb())
        + PNG((8, 8))[-12:],
    ),
    Case(
        "iccp-bomb", 422, "decompression bomb",
        lambda: png_with_chunk(chunk(b"iCCP", b"ICC\0\0" + compression_bomb())),
    ),
    # Sizes.
    Case("zero-bytes", 400, "the file is empty", lambda: b""),
    Case(
        "one-byte-over-5mib", 413, "limit is 5,242,880 bytes",
        lambda: images.padded_png(LIMIT + 1),
    ),
    Case("forty-mib-body", 413, "too large", raw=forty_mib_body, tags=frozenset({"huge"})),
    Case("exactly-5mib", 201, fmt="png", data=lambda: images.padded_png(LIMIT)),
    # Payloads riding on valid images: accepted, and the payload is gone.
    Case(
        "php-in-jpeg-comment", 201, data=lambda: images.jpeg(images.picture(), comment=images.PHP),
        filename="a.jpg", fmt="jpeg", absent=(b"<?php",),
    ),
    Case(
        "zip-after-png", 201, data=lambda: PNG() + images.zip_payload(),
        fmt="png", absent=(b"PK\x03\x04", b"<?php"),
    ),
    Case(
        "zip-after-jpeg", 201, data=lambda: images.jpeg() + images.zip_payload(),
        filename="a.jpg", fmt="jpeg", absent=(b"PK\x03\x04",),
    ),
    Case(
        "js-gif-polyglot", 201, data=js_gif_polyglot, filename="a.gif", fmt="gif",
        absent=(b"alert(",),
    ),
    Case(
        "html-in-gif-comment", 201, data=lambda: gif_with_comment(b"<html>" + SCRIPT),
        filename="a.gif", fmt="gif", absent=(b"<script",),
    ),
    # Identifying metadata: gone, while the colour profile, orientation and timing stay.
    Case(
        "jpeg-exif-gps-xmp-iptc", 201, data=images.jpeg_with_metadata, filename="IMG_0001.JPG",
        fmt="jpeg", absent=images.SECRETS, check=keeps_profile_and_orientation,
    ),
    Case(
        "png-text-exif-trailer", 201, data=images.png_with_metadata, fmt="png",
        absent=images.SECRETS + (b"tEXt", b"zTXt", b"iTXt", b"tIME"),
        check=keeps_profile_and_orientation,
    ),
    # Text keywords that are also Pillow's own info keys: only text (they were refused).
    *(
        Case(
            f"png-text-named-{key}", 201, data=lambda key=key: png_with_chunk(
                chunk(b"tEXt", key.encode() + b"\0" + SCRIPT)
            ), fmt="png", absent=(b"tEXt", SCRIPT),
        )
        for key in ("interlace", "bbox", "gamma", "transparency")
    ),
    Case(
        "animated-gif-comment-xmp", 201, data=images.animated_gif_with_metadata, filename="a.gif",
        fmt="gif", absent=images.SECRETS, check=keeps_every_frame_and_its_timing,
    ),
    # Hostile names: only ever metadata; the stored name is generated.
    Case(
        "name-traversal", 201, data=PNG, filename="../../../etc/passwd.png", fmt="png",
        check=original_name_is("../../../etc/passwd.png"),
    ),
    Case(
        "name-nul", 201, data=PNG, filename="evil\x00.php.png", fmt="png",
        check=original_name_is("evil.php.png"),
    ),
    Case(
        "name-newline", 201, data=PNG, filename="a.png\n2024-01-01 | ERROR | forged", fmt="png",
        check=original_name_is("a.png2024-01-01 | ERROR | forged"),
    ),
    Case(
        "name-markup", 201, data=PNG, filename="<img src=x onerror=alert(1)>.png", fmt="png",
        check=original_name_is("<img src=x onerror=alert(1)>.png"),
    ),
    Case(
        "name-300-characters", 201, data=PNG, filename="n" * 300 + ".png", fmt="png",
        check=original_name_is("n" * 255),
    ),
    Case("double-extension-png-php", 201, data=PNG, filename="photo.png.php", fmt="png"),
    Case("double-extension-php-png", 201, data=PNG, filename="shell.php.png", fmt="png"),
    Case("png-named-jpg", 201, data=PNG, filename="photo.jpg", fmt="png"),
    # Requests of the wrong shape.
    Case("no-file", 400, "no file", raw=with_parts([("title", None, b"hello")])),
    Case(
        "two-files", 400, "one file per request",
        raw=with_parts([("file", "a.png", PNG()), ("file", "b.png", PNG())]),
    ),
    Case(
        "wrong-field-name", 400, "part named 'file'",
        raw=with_parts([("image", "a.png", PNG())]),
    ),
    Case("non-multipart-body", 415, "multipart/form-data", raw=lambda: (PNG(), "image/png")),
    Case(
        "urlencoded-form", 415, "multipart/form-data",
        raw=lambda: (b"file=x.png", "application/x-www-form-urlencoded"),
    ),
    Case(
        "multipart-without-boundary", 400, "no valid boundary",
        raw=lambda: (multipart([("file", "a.png", PNG())])[0], "multipart/form-data"),
    ),
    Case(
        "multipart-unclosed", 400, "no closing boundary",
        raw=lambda: raw_multipart(multipart([("file", "a.png", PNG())])[0][:-20])(),
    ),
    Case(
        "multipart-wrong-boundary", 400, "no boundary found",
        raw=lambda: raw_multipart(multipart([("file", "a.png", PNG())])[0], "other")(),
    ),
    Case(
        "multipart-part-without-headers", 400, MALFORMED,
        raw=raw_multipart(b"--b0undary42\r\njust data, no blank line\r\n--b0undary42--\r\n"),
    ),
    Case(
        "multipart-garbage-header", 400, MALFORMED,
        raw=raw_multipart(b"--b0undary42\r\nno colon here\r\n\r\ndata\r\n--b0undary42--\r\n"),
    ),
]
# fmt: on

REFUSED = [case for case in CASES if not case.accepted]
ACCEPTED = [case for case in CASES if case.accepted]


def ids(cases: list[Case]) -> list[str]:
    return [case.id for case in cases]
