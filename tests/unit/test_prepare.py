"""prepare_image decodes each upload once: its thumbnail comes from the frame the check decoded
and must match the one make_thumbnail makes from the stored (stripped) file."""

import functools
import inspect
import io
import re
import struct
import zlib

import pytest
from PIL import Image, ImageChops, ImageFile, ImageStat, PngImagePlugin

from imagehost.images.check import ImageRejected, decode_image
from imagehost.images.metadata import strip_metadata
from imagehost.images.thumbnail import make_thumbnail
from imagehost.uploads import PreparedImage, UploadLimits, prepare_image
from tests import images

LIMITS = UploadLimits(max_bytes=5 * 1024 * 1024, max_pixels=50_000_000)


def jpeg_with_broken_exif() -> bytes:
    data = images.jpeg(images.picture((400, 300)))
    body = b"Exif\0\0" + b"C\xf8g, not a TIFF header"
    return data[:2] + b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body + data[2:]


def jpeg_with_mistyped_exif_tag() -> bytes:
    """Turned by its EXIF orientation (6), beside a FillOrder tag (a SHORT) stored as text:
    readable, but Pillow cannot write that EXIF back (struct.error)."""
    tiff = b"MM\0*" + struct.pack(">IH", 8, 2) + struct.pack(">HHI4s", 266, 2, 4, b"abc\0")
    tiff += struct.pack(">HHIHH", 274, 3, 1, 6, 0) + b"\0\0\0\0"
    data, body = images.jpeg(images.picture((400, 300))), b"Exif\0\0" + tiff
    return data[:2] + b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body + data[2:]


def png_with_broken_exif() -> bytes:
    data = images.png(images.picture((400, 300)))
    body = b"C\xf8g, not a TIFF header"
    chunk = struct.pack(">I", len(body)) + b"eXIf" + body
    chunk += struct.pack(">I", zlib.crc32(b"eXIf" + body))
    return data[:33] + chunk + data[33:]  # after the signature and IHDR


def with_chunk(data: bytes, kind: bytes, body: bytes, *, after: bytes) -> bytes:
    """`data` with one more chunk, placed after the last chunk of type `after`."""
    chunk = struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    pos = end = 8
    while end < len(data):
        length, found = struct.unpack_from(">I4s", data, end)
        end += 12 + length
        if found == after:
            pos = end
    return data[:pos] + chunk + data[pos:]


def orientation_exif(orientation: int) -> bytes:
    return images.secret_exif(orientation).tobytes()


def transparent(mode: str) -> Image.Image:
    picture = images.picture((640, 480), "RGBA")
    picture.paste((0, 0, 0, 0), (0, 0, 200, 480))
    return picture if mode == "RGBA" else picture.convert(mode)


def sixteen_bit_grey(size: tuple[int, int] = (640, 480)) -> Image.Image:
    grey = Image.new("I;16", size, 0x8080)
    grey.paste(Image.new("I;16", (size[0] // 2, size[1]), 0xFFFF))
    return grey


def apng(default_image: bool = False, exif: bytes | None = None) -> bytes:
    """Three frames that differ (frame 0 partly transparent); with `default_image`, the IDAT
    image is not part of the animation."""
    frames = [transparent("RGBA"), images.halves((640, 480), "RGBA"), images.picture((640, 480))]
    save = {"exif": exif} if exif else {}
    data = images.png(
        frames[0], save_all=True, append_images=frames[1:], default_image=default_image, **save
    )
    assert Image.open(io.BytesIO(data)).n_frames == 3
    return data


def palette_with_trns(fmt: str = "PNG") -> bytes:
    picture = images.picture((640, 480)).convert("P")
    out = io.BytesIO()
    picture.save(out, fmt, transparency=picture.getpixel((600, 400)))
    return out.getvalue()


# Every kind of PNG whose thumbnail shape depends on what the check's decode hands over:
# mode, tRNS, colour profile, EXIF orientation (before or after the pixels, or only in a text
# chunk that stripping drops), APNG frames.
PNGS = {
    "rgb": lambda: images.png(images.picture((1200, 900))),
    "rgb-small": lambda: images.png(images.picture((200, 150))),
    "rgba": lambda: images.png(transparent("RGBA")),
    "rgba-opaque": lambda: images.png(images.picture((640, 480), "RGBA")),
    "rgb-trns": lambda: images.png(images.halves((640, 480)), transparency=(255, 0, 0)),
    "palette-trns": palette_with_trns,
    "palette": lambda: images.png(images.picture((640, 480)).convert("P")),
    "grey": lambda: images.png(images.picture((640, 480), "L")),
    "grey-alpha": lambda: images.png(transparent("LA")),
    "bilevel": lambda: images.png(images.picture((640, 480), "1")),
    "16-bit-grey": lambda: images.png(sixteen_bit_grey()),
    "16-bit-grey-trns": lambda: images.png(sixteen_bit_grey(), transparency=0xFFFF),
    "iccp": lambda: images.png(images.picture((640, 480)), icc_profile=images.srgb_profile()),
    "iccp-rgba": lambda: images.png(transparent("RGBA"), icc_profile=images.srgb_profile()),
    "exif-orientation": lambda: images.png(images.halves((640, 480)), exif=orientation_exif(6)),
    "exif-after-pixels": lambda: with_chunk(
        images.png(images.halves((640, 480))), b"eXIf", orientation_exif(8), after=b"IDAT"
    ),
    "exif-in-text-only": lambda: with_chunk(
        images.png(images.halves((640, 480))), b"tEXt", b"exif\0" + orientation_exif(6),
        after=b"IHDR",
    ),
    "metadata": lambda: images.png_with_metadata(images.halves((800, 400))),
    "apng": apng,
    "apng-default-image": lambda: apng(default_image=True),
    "apng-exif": lambda: apng(exif=orientation_exif(3)),
    "apng-default-image-exif-after-it": lambda: with_chunk(
        apng(default_image=True), b"eXIf", orientation_exif(6), after=b"IDAT"
    ),
    "apng-default-image-exif-at-the-end": lambda: with_chunk(
        apng(default_image=True), b"eXIf", orientation_exif(6), after=b"fdAT"
    ),
}  # fmt: skip
# A text chunk named like an info key shadows it in the upload's info (Pillow makes each tEXt
# keyword a key); the stripped file has no text, so only stripped uploads are compared.
STRIPPED_ONLY = {
    "text-shadowing-iccp": lambda: with_chunk(
        images.png(images.picture((640, 480)), icc_profile=images.srgb_profile()), b"tEXt",
        b"icc_profile\0not a profile", after=b"iCCP",
    ),
    "text-shadowing-trns": lambda: with_chunk(
        palette_with_trns(), b"tEXt", b"transparency\0none", after=b"tRNS"
    ),
}  # fmt: skip
GIFS = {
    "gif-animated": images.animated_gif_with_metadata,
    "gif-still": lambda: images.animated_gif(save_all=False),
    "gif-transparent": lambda: palette_with_trns("GIF"),
}


@pytest.mark.parametrize(
    ("kind", "fmt", "strip"),
    [(kind, "png", strip) for kind in PNGS for strip in (True, False)]
    + [(kind, "png", True) for kind in STRIPPED_ONLY]
    + [(kind, "gif", strip) for kind in GIFS for strip in (True, False)],
)
def test_thumbnail_is_exactly_the_one_make_thumbnail_makes_of_the_stored_file(kind, fmt, strip):
    limits = UploadLimits(LIMITS.max_bytes, LIMITS.max_pixels, strip_metadata=strip)
    prepared = prepare_image({**PNGS, **STRIPPED_ONLY, **GIFS}[kind](), limits)
    assert prepared.thumbnail == make_thumbnail(prepared.data, fmt)


def pillow_info_keys() -> list[str]:
    """Every key Pillow's PNG reader and image code file in `info` or read back from it (and
    its encoders' option names), taken from their source, so a key Pillow adds is tested too."""
    sources = "".join(inspect.getsource(module) for module in (PngImagePlugin, Image, ImageFile))
    keys = set(re.findall(r'info(?:\[|\.get\(|\.pop\()"([^"]+)"', sources))
    keys |= set(re.findall(r'"([^"]+)" (?:not )?in (?:self\.)?(?:im_)?info\b', sources))
    known = {"interlace", "bbox", "dpi", "aspect", "gamma", "transparency", "icc_profile", "exif"}
    assert keys >= known | {"srgb", "chromaticity", "default_image", "xmp"}
    return sorted(keys)


def text_chunk(kind: bytes, key: str) -> bytes:
    """A tEXt, zTXt or iTXt (compressed) chunk's body with keyword `key`."""
    if kind == b"tEXt":
        return key.encode("latin-1") + b"\0hello"
    if kind == b"zTXt":
        return key.encode("latin-1") + b"\0\0" + zlib.compress(b"hello")
    return key.encode("latin-1") + b"\0\1\0en\0\0" + zlib.compress(b"hello")


TEXT_BASES = {
    "plain": lambda: images.png(images.picture((96, 64))),
    "apng": lambda: images.png(
        images.picture((96, 64)), save_all=True, append_images=[images.halves((96, 64))]
    ),
    "iccp": lambda: images.png(images.picture((96, 64)), icc_profile=images.srgb_profile()),
    "trns": lambda: images.png(images.picture((96, 64)).convert("P"), transparency=0),
}


@functools.cache
def text_base(base: str) -> bytes:
    return TEXT_BASES[base]()


@functools.cache
def prepared_text_base(base: str, strip: bool) -> PreparedImage:
    return prepare_image(text_base(base), UploadLimits(LIMITS.max_bytes, LIMITS.max_pixels, strip))


TEXT_CASES = [
    pytest.param(key, kind, base, after, id=f"{key}-{kind.decode()}-{base}-after-{after.decode()}")
    for key in pillow_info_keys()
    for kind, base, after in [
        (b"tEXt", "plain", b"IHDR"), (b"zTXt", "plain", b"IHDR"), (b"iTXt", "plain", b"IHDR"),
        (b"tEXt", "plain", b"IDAT"), (b"zTXt", "apng", b"IHDR"), (b"tEXt", "apng", b"IDAT"),
        (b"iTXt", "iccp", b"iCCP"), (b"tEXt", "trns", b"tRNS"),
    ]
]  # fmt: skip


@pytest.mark.parametrize("strip", [True, False], ids=["stripped", "kept"])
@pytest.mark.parametrize(("key", "kind", "base", "after"), TEXT_CASES)
def test_a_text_chunk_named_like_an_info_key_changes_nothing(key, kind, base, after, strip):
    """A text keyword is never image information: the upload is accepted with the thumbnail
    of the file without the chunk, stored without it when stripping and as it came when not
    (a keyword "interlace" or "bbox" was refused as damaged, "gamma" ended in a TypeError)."""
    plain = text_base(base)
    upload = with_chunk(plain, kind, text_chunk(kind, key), after=after)
    limits = UploadLimits(LIMITS.max_bytes, LIMITS.max_pixels, strip)
    prepared, expected = prepare_image(upload, limits), prepared_text_base(base, strip)
    assert prepared.thumbnail == expected.thumbnail
    assert prepared.thumbnail == make_thumbnail(prepared.data, "png")
    if strip:
        assert prepared.data == expected.data
        assert kind not in prepared.data
    else:
        assert prepared.data == upload


def test_a_kept_exif_that_pillow_cannot_rewrite_still_gives_an_upright_thumbnail():
    upload = jpeg_with_mistyped_exif_tag()
    kept = prepare_image(upload, UploadLimits(LIMITS.max_bytes, LIMITS.max_pixels, False))
    assert kept.data == upload
    assert (kept.thumbnail.width, kept.thumbnail.height) == (240, 320)
    assert kept.thumbnail == prepare_image(upload, LIMITS).thumbnail


def test_a_png_is_decoded_once(monkeypatch):
    """The check's decode is the only one: the thumbnail comes from its frame."""
    decoders = []
    real = Image._getdecoder

    def counting(mode, decoder_name, *args):
        decoders.append(decoder_name)
        return real(mode, decoder_name, *args)

    monkeypatch.setattr(Image, "_getdecoder", counting)
    prepare_image(PNGS["metadata"](), LIMITS)
    assert decoders == ["zip"]


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
    assert prepared.data == strip_metadata(data, fmt).data
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
