"""prepare_image decodes each upload once: its thumbnail comes from the frame the check decoded
and must match the one make_thumbnail makes from the stored (stripped) file."""

import io
import struct
import zlib

import pytest
from PIL import Image, ImageChops, ImageStat

from imagehost.imagecheck import ImageRejected, decode_image
from imagehost.metadata import strip_metadata
from imagehost.thumbnail import make_thumbnail
from imagehost.uploads import UploadLimits, prepare_image
from tests.unit import images

LIMITS = UploadLimits(max_bytes=5 * 1024 * 1024, max_pixels=50_000_000)


def jpeg_with_broken_exif() -> bytes:
    data = images.jpeg(images.picture((400, 300)))
    body = b"Exif\0\0" + b"C\xf8g, not a TIFF header"
    return data[:2] + b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body + data[2:]


def png_with_broken_exif() -> bytes:
    data = images.png(images.picture((400, 300)))
    body = b"C\xf8g, not a TIFF header"
    chunk = struct.pack(">I", len(body)) + b"eXIf" + body
    chunk += struct.pack(">I", zlib.crc32(b"eXIf" + body))
    return data[:33] + chunk + data[33:]  # after the signature and IHDR


def pixels(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    return image.convert("RGBA")


@pytest.mark.parametrize(
    ("data", "fmt"),
    [
        (images.jpeg_with_metadata(orientation=6, icc=images.srgb_profile()), "jpeg"),
        (images.jpeg(images.picture((1200, 900))), "jpeg"),
        (images.png_with_metadata(), "png"),
        (images.png(images.picture((400, 300), "RGBA")), "png"),
        (images.animated_gif_with_metadata(), "gif"),
        (jpeg_with_broken_exif(), "jpeg"),
        (png_with_broken_exif(), "png"),
        (images.jpeg(images.picture((200, 150))), "jpeg"),
    ],
    ids=[
        "jpeg-exif-icc",
        "jpeg-large",
        "png-metadata",
        "png-alpha",
        "gif-animated",
        "jpeg-broken-exif",
        "png-broken-exif",
        "jpeg-small",
    ],  # fmt: skip
)
def test_thumbnail_matches_one_made_from_the_stored_file(data, fmt):
    prepared = prepare_image(data, LIMITS)
    assert prepared.data == strip_metadata(data, fmt)
    reference = make_thumbnail(prepared.data, fmt)
    ours = prepared.thumbnail
    assert (ours.extension, ours.width, ours.height) == (
        reference.extension,
        reference.width,
        reference.height,
    )
    # Same picture; only the resampling path differs (full frame vs libjpeg's draft scale).
    difference = ImageStat.Stat(ImageChops.difference(pixels(ours.data), pixels(reference.data)))
    assert max(difference.mean) < 4


def test_the_returned_frame_is_the_first_one_of_an_animation():
    data = images.animated_gif()
    info, frame = decode_image(data, max_bytes=LIMITS.max_bytes, max_pixels=LIMITS.max_pixels)
    with frame, Image.open(io.BytesIO(data)) as fresh:
        assert info.frames == 3
        assert frame.tell() == 0
        assert frame.convert("RGB").tobytes() == fresh.convert("RGB").tobytes()


def test_a_damaged_file_is_refused_before_any_thumbnail():
    data = images.jpeg(images.picture((400, 300)))
    with pytest.raises(ImageRejected) as caught:
        prepare_image(data[: len(data) // 2], LIMITS)
    assert caught.value.status == 422
