"""POST /upload fuzzed with hypothesis, straight at the app: never a 5xx, never a leftover.

Bounded by example counts and a per-example deadline (about ten seconds in all). Inputs: seed
images (with and without metadata) mutated byte-wise, bytes behind real signatures, random
bytes, hostile file and field names, and whole bodies with random or broken framing.
"""

import http.client as httpclient
import json
from collections import Counter
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imagehost.images.check import sniff_format
from imagehost.storage import NAME_PATTERN
from tests import images
from tests.cli import run_imagehost
from tests.images import chunk, multipart

pytestmark = pytest.mark.e2e
EXAMPLES = 200
BOUNDED = settings(
    max_examples=EXAMPLES,
    deadline=timedelta(seconds=5),
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
REFUSALS = {400, 413, 415, 422}
SEEDS = [
    images.png(),
    images.png((20, 10), mode="RGBA"),
    images.jpeg(),
    images.gif(frames=3),
    images.png_with_metadata(),
    images.jpeg_with_metadata(),
    images.animated_gif_with_metadata(),
]
SIGNATURES = [b"\xff\xd8\xff", b"\xff\xd8\xff\xe0", b"\x89PNG\r\n\x1a\n", b"GIF89a", b"GIF87a"]
# Values that break lengths, sizes and counts when they land on a header field.
MAGIC_WORDS = [b"\xff\xff\xff\xff", b"\0\0\0\0", b"\x7f\xff\xff\xff", b"\0\x01\0\0", b"\xff\xd9"]


@st.composite
def mutated_image(draw) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 6))):
        position = draw(st.integers(0, max(len(data) - 1, 0)))
        operation = draw(st.sampled_from(["flip", "cut", "insert", "delete", "word"]))
        if operation == "flip" and data:
            data[position] ^= draw(st.integers(1, 255))
        elif operation == "cut":
            del data[position:]
        elif operation == "insert":
            data[position:position] = draw(st.binary(min_size=1, max_size=64))
        elif operation == "delete":
            del data[position : position + draw(st.integers(1, 64))]
        else:
            data[position : position + 4] = draw(st.sampled_from(MAGIC_WORDS))
    return bytes(data)


@st.composite
def image_with_random_metadata(draw) -> bytes:
    """A seed with random bytes in well-framed metadata (a PNG chunk, a JPEG segment, a GIF
    extension) and maybe after its end: mostly images that must be accepted and cleaned."""
    data = draw(st.sampled_from(SEEDS))
    payload = draw(st.binary(max_size=2000))
    fmt = sniff_format(data)
    if fmt == "png":
        kind = draw(
            st.sampled_from([b"tEXt", b"zTXt", b"iTXt", b"eXIf", b"iCCP", b"prVt", b"tIME"])
        )
        data = data[:33] + chunk(kind, payload) + data[33:]
    elif fmt == "jpeg":
        marker = draw(st.sampled_from([0xE1, 0xE2, 0xED, 0xEF, 0xFE]))
        prefix = draw(st.sampled_from([b"", b"Exif\0\0", b"ICC_PROFILE\0", b"Photoshop 3.0\0"]))
        body = (prefix + payload)[:65533]
        data = (
            data[:2] + bytes((0xFF, marker)) + (len(body) + 2).to_bytes(2, "big") + body + data[2:]
        )
    else:
        blocks = b"".join(bytes((len(piece),)) + piece for piece in _pieces(payload, 255))
        label = draw(st.sampled_from([b"\xfe", b"\xff\x0bXMP DataXMP", b"\xff\x0bNETSCAPE2.0"]))
        data = data[:-1] + b"\x21" + label + blocks + b"\0" + data[-1:]
    return data + draw(st.sampled_from([b"", draw(st.binary(max_size=256))]))


def _pieces(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


file_bytes = st.one_of(
    image_with_random_metadata(),
    mutated_image(),
    st.builds(bytes.__add__, st.sampled_from(SIGNATURES), st.binary(max_size=512)),
    st.binary(max_size=1024),
)
text = st.text(st.characters(exclude_categories=["Cs"]), max_size=300)
# What a header value can carry at all (http.client refuses control characters).
PRINTABLE = st.characters(min_codepoint=0x20, max_codepoint=0x7E)
names = st.one_of(
    st.just("photo.jpg"),
    text,
    st.sampled_from(["../../x.png", "a\0.php", "a\r\nX: y.gif", '"quoted".png', "x" * 400, None]),
)


@st.composite
def multipart_bodies(draw) -> tuple[bytes, str]:
    """Well framed: a file part (often under the right field name) and maybe other parts."""
    field = draw(st.sampled_from(["file"] * 6 + ["image", "_xsrf", ""]))
    parts = [(field, draw(names), draw(file_bytes))]
    for _ in range(draw(st.integers(0, 2))):
        # Mostly plain fields beside the file; now and then a second file.
        filename = draw(st.sampled_from([None] * 9 + ["second.png"]))
        parts.append((draw(st.sampled_from(["file", "title"])), filename, draw(file_bytes)))
    boundary = draw(st.from_regex(r"[0-9A-Za-z'()+_,\-.:=?]{1,70}", fullmatch=True))
    return multipart(draw(st.permutations(parts)), boundary=boundary)


@st.composite
def broken_bodies(draw) -> tuple[bytes, str]:
    """Framing broken anywhere, or no framing at all, under any Content-Type."""
    body, ctype = draw(multipart_bodies())
    cut = draw(st.integers(0, len(body)))
    body = draw(
        st.sampled_from(
            [
                body[:cut],
                body[:cut] + draw(st.binary(max_size=64)) + body[cut:],
                body.replace(b"\r\n", b"\n"),
                draw(st.binary(max_size=2048)),
            ]
        )
    )
    ctype = draw(
        st.one_of(
            st.just(ctype),
            st.sampled_from(
                [
                    "multipart/form-data",
                    "multipart/form-data; boundary=",
                    'multipart/form-data; boundary="unterminated',
                    "multipart/mixed; boundary=b0undary42",
                    "image/png",
                    "application/octet-stream",
                    "text/plain; charset=utf-8",
                ]
            ),
            st.text(PRINTABLE, max_size=80).map(lambda t: "multipart/form-data; boundary=" + t),
        )
    )
    return body, ctype


def post(port: int, body: bytes, ctype: str) -> tuple[int, bytes]:
    conn = httpclient.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(
            "POST",
            "/upload",
            body=body,
            headers={"Content-Type": ctype, "Accept": "application/json"},
        )
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def judge(stack, status: int, payload: bytes, seen: list[int]) -> None:
    seen.append(status)
    assert status in REFUSALS | {201}, (status, payload[:300])
    assert payload.startswith(b"{"), (status, payload[:300])
    answer = json.loads(payload)
    if status == 201:
        assert NAME_PATTERN.match(answer["name"])
        assert (stack.settings.images_dir / answer["name"]).is_file()
    else:
        assert answer["error"]


def fuzz(db_stack, bodies) -> Counter:
    """Send every generated body to the app; then the store must be consistent.

    Returns how often each status was answered."""
    stack, _, records = db_stack
    seen: list[int] = []

    @BOUNDED
    @given(bodies)
    def one(request: tuple[bytes, str]) -> None:
        judge(stack, *post(stack.app_port, *request), seen)

    one()
    result = run_imagehost(stack.env, "check", "--grace", "0")
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(list(stack.settings.images_dir.iterdir())) == 2 * records.count()
    return Counter(seen)


def test_fuzzed_uploads_never_fail_the_server(db_stack):
    statuses = fuzz(db_stack, multipart_bodies())
    # The inputs reached every stage: stored, and refused by the parser and the image checks.
    assert {201, 400, 415, 422} <= set(statuses), statuses
    print(f"fuzzed uploads: statuses {statuses}")


def test_fuzzed_framing_never_fails_the_server(db_stack):
    statuses = fuzz(db_stack, broken_bodies())
    assert {400, 415} <= set(statuses), statuses
    print(f"fuzzed framing: statuses {statuses}")
