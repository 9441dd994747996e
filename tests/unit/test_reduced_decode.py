"""A JPEG decoded at reduced scale (decode_image's reduce_to) is checked as strictly as one
decoded at full size: libjpeg entropy-decodes every block either way, so damaged files get the
same verdict. Compared over truncations and byte damage of baseline and progressive files."""

import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from imagehost.images.check import ImageRejected, decode_image
from tests import images

LIMIT = 5 * 1024 * 1024
PIXELS = 50_000_000
SOURCES = {
    "baseline": images.jpeg(images.picture((800, 600))),
    "progressive": images.jpeg(images.picture((800, 600)), progressive=True),
    "restart-markers": images.jpeg(images.picture((800, 600)), restart_marker_rows=1),
    "grey": images.jpeg(images.picture((800, 600), "L")),
}


def verdict(data: bytes, reduce_to: int | None):
    """("refused", the HTTP status) or ("accepted", the ImageInfo): what both decodes must share."""
    try:
        info, frame = decode_image(data, max_bytes=LIMIT, max_pixels=PIXELS, reduce_to=reduce_to)
    except ImageRejected as refused:
        return ("refused", refused.status)
    with frame:
        return ("accepted", info)


def scan_start(data: bytes) -> int:
    return data.index(b"\xff\xda")


@pytest.mark.parametrize("kind", SOURCES)
def test_the_frame_is_reduced_but_covers_the_requested_side(kind):
    info, frame = decode_image(SOURCES[kind], max_bytes=LIMIT, max_pixels=PIXELS, reduce_to=150)
    with frame:
        assert (info.width, info.height) == (800, 600)
        assert frame.size == (200, 150)  # libjpeg's 1/4: the smallest that covers 150 px
        with Image.open(io.BytesIO(SOURCES[kind])) as full:
            full.load()
            assert frame.mode == full.mode


def test_without_reduce_to_the_frame_is_full_size():
    info, frame = decode_image(SOURCES["baseline"], max_bytes=LIMIT, max_pixels=PIXELS)
    with frame:
        assert frame.size == (800, 600)


@pytest.mark.parametrize("kind", SOURCES)
def test_every_truncation_gets_the_same_verdict(kind):
    data = SOURCES[kind]
    start = scan_start(data)
    cuts = range(start, len(data), max(1, (len(data) - start) // 60))
    verdicts = [(verdict(data[:cut], None), verdict(data[:cut], 40)) for cut in cuts]
    assert all(full == reduced for full, reduced in verdicts)
    assert all(full[0] == "refused" for full, _ in verdicts)  # the cuts did damage


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kind=st.sampled_from(sorted(SOURCES)),
    damage=st.lists(
        st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), min_size=1, max_size=8
    ),
    cut=st.one_of(st.none(), st.floats(0.5, 1)),
)
def test_damaged_files_get_the_same_verdict(kind, damage, cut):
    data = bytearray(SOURCES[kind])
    start = scan_start(data)
    for where, value in damage:
        data[start + int(where * (len(data) - start))] = value
    if cut is not None:
        data = data[: start + int(cut * (len(data) - start))]
    assert verdict(bytes(data), None) == verdict(bytes(data), 40)
