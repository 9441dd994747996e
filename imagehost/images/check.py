"""Decide whether uploaded bytes are an acceptable image: pure functions, bytes in, verdict out.

The format comes from the bytes alone; the whole image must decode; the pixel count is capped
before any pixel is decoded, so a small file claiming a huge size is refused cheaply.
"""

import io
import struct
import warnings
from dataclasses import dataclass

from PIL import Image, ImageFile

from .pngtext import TextBomb, TextChunkError, check_text, without_text
from .thumbnail import first_shown_frame, fit

# The three formats, by their signatures, with the extension and Content-Type they are stored as.
FORMATS = {
    "jpeg": (".jpg", "image/jpeg", "JPEG"),
    "png": (".png", "image/png", "PNG"),
    "gif": (".gif", "image/gif", "GIF"),
}
# An animation may hold many frames; this bounds the total decoding work per upload.
MAX_ANIMATION_FACTOR = 4
# The LZW code sizes browsers decode (Chromium's GIF decoder refuses the others, Pillow not).
GIF_CODE_SIZES = range(2, 9)

ImageFile.LOAD_TRUNCATED_IMAGES = False
# Our own cap (MAX_PIXELS, checked from the header) runs first with a precise message;
# Pillow's guard stays as a backstop at the largest value MAX_PIXELS may take, and its
# warning is an error so no code path can decode past it.
Image.MAX_IMAGE_PIXELS = 1_000_000_000
warnings.simplefilter("error", Image.DecompressionBombWarning)
# What Pillow's parsers raise on cut-off or out-of-range bytes (besides ValueError, below).
# Image.open turns the last five into SyntaxError itself; seeking, counting frames and loading
# let them through (a GIF frame header cut short raises struct.error).
_DAMAGED = (OSError, SyntaxError, EOFError, IndexError, TypeError, KeyError, struct.error)


def N_(message: str) -> str:
    """Marks a message for the catalogue (as imagehost.i18n's N_, which this folder may not
    import); the web layer translates it."""
    return message


class ImageRejected(ValueError):
    """The upload is refused: the shape of imagehost.refusal.Refusal, which this folder may not
    import; the web layer answers both the same way. `code` names the reason for programs,
    `template` is the English message with its {placeholders}, filled from `values`."""

    def __init__(self, status: int, code: str, template: str, **values) -> None:
        super().__init__(template.format(**values))
        self.status = status
        self.code = code
        self.template = template
        self.values = values

    @property
    def message(self) -> str:
        return str(self)


@dataclass(frozen=True)
class ImageInfo:
    format: str  # "jpeg", "png" or "gif"
    width: int
    height: int
    frames: int

    @property
    def extension(self) -> str:
        return FORMATS[self.format][0]

    @property
    def content_type(self) -> str:
        return FORMATS[self.format][1]


def sniff_format(data: bytes) -> str | None:
    """The format named by the file's signature, or None."""
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    return None


def decode_image(
    data: bytes, *, max_bytes: int, max_pixels: int, reduce_to: int | None = None
) -> tuple[ImageInfo, Image.Image]:
    """The image's facts and its decoded first frame (the caller closes it), or ImageRejected
    with a status and a clear reason.

    The upload pipeline makes the thumbnail from that frame instead of decoding the file again.
    With `reduce_to`, a single-frame JPEG is decoded by libjpeg at 1/2, 1/4 or 1/8 scale, as
    long as the frame still covers `reduce_to` px on its long side. The check loses nothing:
    every coefficient of every block is still entropy-decoded (that is where truncation and
    damage show, and it is most of the work); only the inverse DCT is computed at the smaller
    size. ImageInfo keeps the file's real size.
    """
    if len(data) == 0:
        raise ImageRejected(400, "empty", N_("the file is empty"))
    if len(data) > max_bytes:
        raise ImageRejected(
            413, "too_large", N_("the file is {size:,} bytes; the limit is {limit:,} bytes"),
            size=len(data), limit=max_bytes,
        )  # fmt: skip
    fmt = sniff_format(data)
    if fmt is None:
        raise ImageRejected(
            415, "unsupported_format",
            N_("not a supported image: only JPEG, PNG or GIF files are accepted"),
        )  # fmt: skip
    pil_format = FORMATS[fmt][2]
    if fmt == "png":
        _check_png_text(data)
        data = without_text(data)  # see pngtext: Pillow must never read the text's keywords
    try:
        image = Image.open(io.BytesIO(data), formats=[pil_format])
        try:
            width, height = image.size
            if width < 1 or height < 1:
                raise ImageRejected(422, "no_pixels", N_("the image has no pixels"))
            if width * height > max_pixels:
                raise ImageRejected(
                    422, "too_many_pixels",
                    N_("the image is {width}x{height} pixels; the limit is {limit:,} pixels"),
                    width=width, height=height, limit=max_pixels,
                )  # fmt: skip
            if fmt == "jpeg" and reduce_to and getattr(image, "n_frames", 1) == 1:
                # Pillow picks the largest of 1/2..1/8 that keeps the frame at least this size.
                image.draft(None, fit((width, height), reduce_to))
            frames = _decode_all_frames(image, width * height, max_pixels)
            if frames > 1:
                image.seek(first_shown_frame(image))
                image.load()
                # An APNG's default image outside the animation is not one of its frames.
                frames -= first_shown_frame(image)
            if fmt == "png":
                # verify() checks every chunk's CRC, which decoding alone does not.
                with Image.open(io.BytesIO(data), formats=[pil_format]) as again:
                    again.verify()
        except BaseException:
            image.close()
            raise
    except ImageRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageRejected(
            422, "too_many_pixels",
            N_("the image is too large to decode safely (limit {limit:,} pixels)"),
            limit=max_pixels,
        ) from None  # fmt: skip
    except ValueError as exc:
        if "Decompressed" in str(exc):  # Pillow's guard on iCCP chunks
            raise _decompression_bomb() from None
        raise damaged(fmt, exc) from None
    except _DAMAGED as exc:
        raise damaged(fmt, exc) from None
    except MemoryError:
        raise ImageRejected(
            422, "too_many_pixels", N_("the image needs too much memory to decode")
        ) from None
    return ImageInfo(fmt, width, height, frames), image


def _check_png_text(data: bytes) -> None:
    try:
        check_text(data)
    except TextBomb:
        raise _decompression_bomb() from None
    except TextChunkError as exc:
        raise damaged("png", exc) from None


def _decompression_bomb() -> ImageRejected:
    return ImageRejected(
        422, "decompression_bomb",
        N_(
            "the PNG file holds a compressed text or colour-profile chunk that unpacks "
            "to too much data (a decompression bomb)"
        ),
    )  # fmt: skip


def _decode_all_frames(image: Image.Image, frame_pixels: int, max_pixels: int) -> int:
    frames = getattr(image, "n_frames", 1)
    if frames * frame_pixels > max_pixels * MAX_ANIMATION_FACTOR:
        raise ImageRejected(
            422, "too_many_pixels",
            N_("the animation has {frames:,} frames of {pixels:,} pixels: too much to decode"),
            frames=frames, pixels=frame_pixels,
        )  # fmt: skip
    for index in range(frames):
        image.seek(index)
        if image.format == "GIF":
            _check_gif_code_size(image, index)
        image.load()
    return frames


def _check_gif_code_size(image: Image.Image, index: int) -> None:
    code_size = image.tile[0].args[0] if image.tile else None  # set by the seek, until load()
    if code_size is not None and code_size not in GIF_CODE_SIZES:
        raise ImageRejected(
            422, "browser_cannot_decode",
            N_(
                "the GIF file's frame {frame} uses an LZW code size of {code_size}, which "
                "browsers cannot decode (they take {low} to {high})"
            ),
            frame=index + 1, code_size=code_size, low=GIF_CODE_SIZES[0], high=GIF_CODE_SIZES[-1],
        )  # fmt: skip


def damaged(fmt: str, exc: BaseException) -> ImageRejected:
    # The decoder's own words stay as they are: they are for whoever looks closer.
    return ImageRejected(
        422, "damaged", N_("the {format} file is damaged or incomplete ({detail})"),
        format=fmt.upper(), detail=_short(exc),
    )  # fmt: skip


def _short(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text[:120]
