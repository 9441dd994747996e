"""Make small still thumbnails (JPEG, or PNG when transparent) from JPEG, PNG and GIF uploads."""

import io
import struct
from dataclasses import dataclass

from PIL import ExifTags, Image

from .colour import to_srgb
from .pngtext import without_text

_PIL_FORMATS = {"jpeg": "JPEG", "png": "PNG", "gif": "GIF"}
# Pillow also takes orientation from XMP or an ImageMagick text chunk; browsers honour only EXIF,
# and strip_metadata drops the rest, so the thumbnail must ignore them to match the full image.
_NON_EXIF_ORIENTATION = ("xmp", "XML:com.adobe.xmp", "Raw profile type exif")
# The turn that makes each EXIF orientation upright (as ImageOps.exif_transpose makes it).
_UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_JPEG_QUALITY = 82
_REDUCING_GAP = 2.0
SIDE = 320  # the thumbnail's long side, in pixels


@dataclass(frozen=True)
class Thumbnail:
    """An encoded thumbnail, ready to store and serve."""

    data: bytes
    extension: str
    content_type: str
    width: int
    height: int


def make_thumbnail(data: bytes, fmt: str, max_side: int = SIDE) -> Thumbnail:
    """A still of the image (first frame), upright, at most `max_side` px on its long side.

    PNG when the image has transparent pixels, JPEG otherwise; sRGB, with no metadata at all.
    Never upscales. `fmt` is "jpeg", "png" or "gif".
    """
    if fmt not in _PIL_FORMATS:
        raise ValueError(f"unsupported image format: {fmt!r}")
    if max_side < 1:
        raise ValueError(f"max_side must be positive, not {max_side}")
    with _open(data, fmt) as source:
        # Only the colour chunks before the pixels count: Pillow adds later ones to `info`
        # as it reads on, and browsers ignore them.
        colour = dict(source.info)
        size = fit(source.size, max_side)
        if fmt == "jpeg":
            # libjpeg decodes at 1/2..1/8 scale, no smaller than the target (check.decode_image's
            # reduce_to does the same, so uploads and remade thumbnails match).
            source.draft(None, size)
        source.seek(first_shown_frame(source))
        return _thumbnail(source, size, colour)


def thumbnail_of(source: Image.Image, stored: bytes, fmt: str, max_side: int = SIDE) -> Thumbnail:
    """make_thumbnail(stored, fmt), made from `source`: the first frame already decoded from
    the upload that `stored` was made from (same pixels, maybe less metadata), possibly at a
    reduced scale (decode_image's reduce_to) but not below the thumbnail's size.

    JPEG and PNG files are then not decoded twice. What shapes the thumbnail (orientation,
    colour chunks or profile, transparency) is read from `stored`'s header, as make_thumbnail
    would read it, never from the upload's: there, a text chunk can shadow any of them (a
    tEXt keyword becomes an info key). A GIF is thumbnailed by make_thumbnail itself.
    """
    if fmt == "gif":
        return make_thumbnail(stored, fmt, max_side)
    if fmt not in _PIL_FORMATS:
        raise ValueError(f"unsupported image format: {fmt!r}")
    if max_side < 1:
        raise ValueError(f"max_side must be positive, not {max_side}")
    with _open(stored, fmt) as header:
        size = fit(header.size, max_side)
        if header.mode != source.mode or not _covers(source.size, size, header.size):
            raise ValueError("the stored file is not the decoded image")
        source.info = dict(header.info)
    if fmt == "png":
        exif = _exif_after_pixels(stored, source.tell())
        if exif is not None:
            source.info["exif"] = exif
    return _thumbnail(source, size, header.info)


def first_shown_frame(image: Image.Image) -> int:
    """The index of the first frame browsers show: an APNG's default image (its IDAT) may be
    left out of the animation, for viewers without APNG only."""
    return 1 if image.info.get("default_image") and getattr(image, "n_frames", 1) > 1 else 0


def _open(data: bytes, fmt: str) -> Image.Image:
    """The file opened by Pillow, a PNG without its text chunks (see pngtext)."""
    readable = without_text(data) if fmt == "png" else data
    return Image.open(io.BytesIO(readable), formats=[_PIL_FORMATS[fmt]])


def _exif_after_pixels(png: bytes, frame: int) -> bytes | None:
    """An eXIf chunk after a PNG's pixels that Pillow has read once it loaded frame `frame`
    (its chunks end at the next frame's fcTL, or IEND); the header holds those before."""
    exif, pos, seen_pixels, frame_starts = None, 8, False, 0
    while pos + 8 <= len(png):
        length, kind = struct.unpack_from(">I4s", png, pos)
        if kind == b"IEND":
            break
        if kind == b"fcTL" and seen_pixels:
            if frame_starts == frame:
                break
            frame_starts += 1
        if kind == b"eXIf" and seen_pixels:
            exif = b"Exif\0\0" + png[pos + 8 : pos + 8 + length]
        seen_pixels = seen_pixels or kind == b"IDAT"
        pos += 12 + length
    return exif


def _thumbnail(source: Image.Image, size: tuple[int, int], colour: dict) -> Thumbnail:
    for key in _NON_EXIF_ORIENTATION:
        source.info.pop(key, None)
    image = _drop_opaque_alpha(_normalise_mode(source))
    if image.size != size:
        # A box reduce to within 2x of the size, then bicubic: Image.thumbnail's own default.
        # For a 1920x1080 screenshot, 4 ms less than reducing_gap=3.0 and a mean of 0.9 of 255
        # from a bicubic of the whole frame (3.0: 0.3), under what the JPEG encoding adds.
        image = image.resize(size, Image.Resampling.BICUBIC, reducing_gap=_REDUCING_GAP)
    if image is source:
        # A plain copy, whose EXIF comes from its info: the file's parser may have cached
        # the EXIF of the upload itself, before metadata stripping.
        image = source.copy()
    # Only the orientation is read: exif_transpose would also re-encode the rest of the
    # EXIF, which hostile tags make raise (struct.error), and the thumbnail keeps none of it.
    turn = _UPRIGHT.get(image.getexif().get(ExifTags.Base.Orientation, 1))
    if turn is not None:
        image = image.transpose(turn)
    image = to_srgb(image, colour)
    image.info.clear()  # Pillow's encoders copy comments and profiles from here
    out = io.BytesIO()
    if image.mode in ("LA", "RGBA"):
        image.save(out, "PNG", optimize=True)
        extension, content_type = ".png", "image/png"
    else:
        image.save(out, "JPEG", quality=_JPEG_QUALITY, optimize=True)
        extension, content_type = ".jpg", "image/jpeg"
    return Thumbnail(out.getvalue(), extension, content_type, image.width, image.height)


def fit(size: tuple[int, int], max_side: int) -> tuple[int, int]:
    """`size` scaled to at most `max_side` on its long side; never upscaled."""
    width, height = size
    longest = max(width, height)
    if longest <= max_side:
        return width, height
    scale = max_side / longest
    return max(1, round(width * scale)), max(1, round(height * scale))


def _covers(decoded: tuple[int, int], target: tuple[int, int], full: tuple[int, int]) -> bool:
    """Whether a frame of size `decoded` lies between `target` and the full image's size."""
    return all(t <= d <= f for d, t, f in zip(decoded, target, full, strict=True))


def _normalise_mode(image: Image.Image) -> Image.Image:
    """The image as L, LA, RGB, RGBA or CMYK, with any tRNS transparency made an alpha band."""
    transparent = "transparency" in image.info
    if image.mode.startswith("I"):
        return _sixteen_bit_grey(image)
    if image.mode in ("L", "RGB") and not transparent:
        return image  # already right: no copy (the source may be a full-size decoded photo)
    if image.mode in ("1", "L"):
        return image.convert("LA" if transparent else "L")
    if image.mode in ("LA", "RGBA", "CMYK"):
        return image
    if image.mode == "PA" or transparent:
        return image.convert("RGBA")
    return image.convert("RGB")


def _sixteen_bit_grey(image: Image.Image) -> Image.Image:
    wide = image.convert("I")
    # Pillow clips 16-bit values to 255 when converting to L; scale them down instead.
    grey = wide.point(lambda v: v / 257 + 0.5).convert("L")
    key = image.info.get("transparency")
    if not isinstance(key, int):
        return grey
    alpha = wide.point([0 if v == key else 255 for v in range(65536)], "L")
    return Image.merge("LA", (grey, alpha))


def _drop_opaque_alpha(image: Image.Image) -> Image.Image:
    # An alpha band with nothing transparent (common in screenshots) would only force a PNG.
    if image.mode in ("LA", "RGBA") and image.getchannel("A").getextrema()[0] == 255:
        return image.convert(image.mode[:-1])
    return image
