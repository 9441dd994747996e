"""Tricky but valid images, made in memory: colour chunks and profiles, odd layouts, animations.

Each case is a file browsers draw in their own way; tests/browser/test_rendering.py checks that
what is served and its thumbnail look in Chromium as the upload does, the unit tests use a few.
Where Pillow cannot write a file (16-bit colour, Adam7, gAMA/cHRM, wide LZW codes), it is built
here chunk by chunk.
"""

import struct
import zlib
from dataclasses import dataclass

from PIL import Image, ImageDraw

from imagehost.images.colour import grey_profile, power_curve, primaries_to_xyz_d50, rgb_profile
from tests.images import chunk, encode, picture, secret_exif

SIZE = (400, 300)  # larger than a thumbnail, so thumbnails are downscaled
# Display P3's primaries with a plain 2.2 gamma: a wide gamut, so saturated colours move.
WIDE_GAMUT = (0.3127, 0.3290, 0.680, 0.320, 0.265, 0.690, 0.150, 0.060)
# Adobe RGB's primaries under a D50 white: chromaticities far from sRGB's, for cHRM.
WIDE_D50 = (0.3457, 0.3585, 0.640, 0.330, 0.210, 0.710, 0.150, 0.060)
# Adam7's passes: first column and row, then the steps between columns and rows.
_ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2),
          (0, 1, 1, 2))  # fmt: skip
_COLOUR_TYPES = {"L": 0, "RGB": 2, "LA": 4, "RGBA": 6}


@dataclass(frozen=True)
class Tricky:
    name: str
    data: bytes
    frames: int = 1  # as browsers count them

    @property
    def mime(self) -> str:
        kinds = {b"\xff\xd8": "image/jpeg", b"\x89P": "image/png", b"GI": "image/gif"}
        return kinds[self.data[:2]]


def wide_gamut_profile() -> bytes:
    return rgb_profile(primaries_to_xyz_d50(WIDE_GAMUT), power_curve(2.2), "wide gamut, 2.2")


def grey_linear_profile() -> bytes:
    return grey_profile(power_curve(1.0), "linear grey")


def scene(size: tuple[int, int] = SIZE, mode: str = "RGB") -> Image.Image:
    """Smooth gradients (so resampling filters agree), saturated patches (so gamut shows) and
    a mark in one corner (so a flip or rotation shows)."""
    image = picture(size)
    draw = ImageDraw.Draw(image)
    w, h = size
    for i, colour in enumerate([(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0)]):
        draw.rectangle((w * i // 4, h * 3 // 4, w * (i + 1) // 4, h), fill=colour)
    draw.rectangle((w - w // 5, 0, w, h // 5), fill=(20, 20, 20))
    return image.convert(mode)


def png(image: Image.Image, *, depth: int = 8, interlace: bool = False, before=(), after=()):
    """A PNG of `image` (L, LA, RGB or RGBA) written by hand: `depth` 8 or 16 (16 repeats
    each byte, plus a ramp in the low byte so the extra bits are really used), Adam7 if
    `interlace`, extra chunks before the image data and after it."""
    width, height = image.size
    channels = len(image.getbands())
    samples = image.tobytes()
    if depth == 16:
        samples = b"".join(bytes((v, (v + i) % 256)) for i, v in enumerate(samples))
    pixel = channels * depth // 8
    rows = [samples[y * width * pixel : (y + 1) * width * pixel] for y in range(height)]
    raw = bytearray()
    for x0, y0, dx, dy in _ADAM7 if interlace else ((0, 0, 1, 1),):
        if x0 >= width:
            continue
        for row in rows[y0::dy]:
            raw += b"\0" + b"".join(row[x * pixel : (x + 1) * pixel] for x in range(x0, width, dx))
    ihdr = struct.pack(">IIBBBBB", width, height, depth, _COLOUR_TYPES[image.mode], 0, 0, interlace)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + b"".join(before)
        + chunk(b"IDAT", zlib.compress(bytes(raw), 6))
        + b"".join(after)
        + chunk(b"IEND", b"")
    )


def gama(gamma: float) -> bytes:
    return chunk(b"gAMA", struct.pack(">I", round(gamma * 100000)))


def chrm(chromaticity: tuple[float, ...]) -> bytes:
    return chunk(b"cHRM", struct.pack(">8I", *(round(v * 100000) for v in chromaticity)))


def iccp(profile: bytes) -> bytes:
    return chunk(b"iCCP", b"profile\0\0" + zlib.compress(profile))


def srgb() -> bytes:
    return chunk(b"sRGB", b"\0")


def apng_default_image_outside_animation() -> bytes:
    """An APNG whose IDAT image (shown by viewers without APNG) is not one of its frames."""
    default = Image.new("RGB", SIZE, (255, 0, 255))
    frames = [scene(), scene().rotate(180)]
    return encode(default, "PNG", save_all=True, append_images=frames, default_image=True)


def apng_partial_frames() -> bytes:
    """Later frames cover part of the canvas, blended over what was there or replacing it."""
    base = scene(mode="RGBA")
    patch = Image.new("RGBA", SIZE, (0, 0, 0, 0))
    ImageDraw.Draw(patch).ellipse((100, 60, 300, 240), fill=(0, 200, 255, 160))
    return encode(base, "PNG", save_all=True, append_images=[patch, scene(mode="RGBA")], blend=1)


def gif_with_disposal(disposal: int) -> bytes:
    """Three frames, the later ones transparent outside a moving square, with `disposal`.
    No dithering: its pixel noise would only measure the thumbnail's JPEG encoder."""
    size = (240, 180)
    quantized = scene(size).quantize(254, dither=Image.Dither.NONE)
    # Index 0 is transparent, 255 the moving square.
    first = Image.frombytes("P", size, bytes(i + 1 for i in quantized.tobytes()))
    palette = [0, 0, 0] + quantized.getpalette()[: 254 * 3] + [250, 60, 30]
    frames = []
    for i in range(3):
        frame = first.copy() if i == 0 else Image.new("P", size, 0)
        ImageDraw.Draw(frame).rectangle((20 + 60 * i, 40, 100 + 60 * i, 120), fill=255)
        frame.putpalette(palette)
        frames.append(frame)
    return encode(
        frames[0],
        "GIF",
        save_all=True,
        append_images=frames[1:],
        transparency=0,
        disposal=disposal,
        duration=100,
        loop=0,
        optimize=False,
    )


def gif_with_profile(data: bytes, profile: bytes) -> bytes:
    """`data` (a GIF with a global colour table) with an ICC profile extension before its
    first image (Pillow reads them but does not write them)."""
    table = 3 << ((data[10] & 0x07) + 1)
    extension = b"\x21\xff\x0bICCRGBG1012" + b"".join(
        bytes((len(block),)) + block for block in _blocks(profile)
    )
    return data[: 13 + table] + extension + b"\0" + data[13 + table :]


def gif_with_code_sizes(*code_sizes: int, size: tuple[int, int] = (16, 8)) -> bytes:
    """A GIF with one frame per code size, whose LZW data starts at that many bits per literal
    (the format allows up to 12 in the code stream; decoders differ on the minimum they take)."""
    width, height = size
    palette = bytes(v for i in range(256) for v in (i, 255 - i, (i * 7) % 256))
    out = [b"GIF89a", struct.pack("<HHBBB", width, height, 0xF7, 0, 0), palette]
    for code_size in code_sizes:
        pixels = [(x * 16 + y) % (1 << code_size) for y in range(height) for x in range(width)]
        out += [b",", struct.pack("<HHHHB", 0, 0, width, height, 0), bytes((code_size,))]
        data = _lzw_literals(pixels, code_size)
        out += [bytes((len(block),)) + block for block in _blocks(data)]
        out.append(b"\0")
    return b"".join(out) + b";"


def _blocks(data: bytes) -> list[bytes]:
    return [data[i : i + 255] for i in range(0, len(data), 255)]


def _lzw_literals(pixels: list[int], code_size: int) -> bytes:
    """LZW data that sends every pixel as a literal, with a clear code before the code table
    would need a wider code (so the width stays code_size + 1)."""
    clear, end = 1 << code_size, (1 << code_size) + 1
    width = code_size + 1
    room = max(1, (1 << width) - (clear + 2) - 1)
    codes = []
    for i, value in enumerate(pixels):
        if i % room == 0:
            codes.append(clear)
        codes.append(value)
    codes.append(end)
    bits, count, out = 0, 0, bytearray()
    for code in codes:
        bits |= code << count
        count += width
        while count >= 8:
            out.append(bits & 0xFF)
            bits >>= 8
            count -= 8
    if count:
        out.append(bits & 0xFF)
    return bytes(out)


def cases() -> list[Tricky]:
    """The accepted files: one of each kind a browser draws in its own way."""
    rgb, grey = scene(), scene(mode="L")
    grey_alpha = Image.merge("LA", (grey, Image.linear_gradient("L").resize(SIZE)))
    rgba = scene(mode="RGBA")
    rgba.putalpha(Image.linear_gradient("L").rotate(90).resize(SIZE))
    palette = scene().quantize(64)
    posterised = scene().quantize(255, dither=Image.Dither.NONE)  # dithering would be JPEG noise
    alphas = bytes(255 if i % 3 else 90 for i in range(64))
    wide, linear_grey = iccp(wide_gamut_profile()), iccp(grey_linear_profile())
    found = [
        Tricky("rgb-16bit", png(rgb, depth=16)),
        Tricky("rgba-16bit", png(rgba, depth=16)),
        Tricky("grey-16bit", png(grey, depth=16)),
        Tricky("interlaced", png(rgb, interlace=True)),
        Tricky("interlaced-grey-alpha", png(grey_alpha, interlace=True)),
        Tricky("palette-trns", encode(palette, "PNG", transparency=alphas)),
        Tricky("grey-alpha", png(grey_alpha)),
        Tricky("gamma-1.0", png(rgb, before=[gama(1.0)])),
        Tricky("gamma-1.8", png(rgb, before=[gama(1 / 1.8)])),
        Tricky("gamma-0.7", png(rgb, before=[gama(0.7)])),
        Tricky("gamma-2.2", png(rgb, before=[gama(1 / 2.2)])),  # drawn as sRGB
        Tricky("gamma-chrm", png(rgb, before=[gama(1 / 2.2), chrm(WIDE_D50)])),
        Tricky("chrm-only", png(rgb, before=[chrm(WIDE_D50)])),
        Tricky("gamma-grey", png(grey, before=[gama(1.0)])),
        Tricky("gamma-grey-16bit", png(grey, depth=16, before=[gama(0.6)])),
        Tricky("gamma-rgba", png(rgba, before=[gama(1.0)])),
        Tricky("gamma-palette", _with_chunks(encode(palette, "PNG"), gama(1.0))),
        Tricky("gamma-after-idat", png(rgb, after=[gama(1.0)])),
        Tricky("srgb-over-gamma", png(rgb, before=[srgb(), gama(1.0)])),
        Tricky("icc-wide", png(rgb, before=[wide])),
        Tricky("icc-over-gamma", png(rgb, before=[wide, gama(1.0)])),
        Tricky("icc-unreadable-then-gamma", png(rgb, before=[iccp(b"no profile" * 20), gama(1.0)])),
        Tricky("icc-grey", png(grey, before=[linear_grey])),
        Tricky("icc-grey-alpha", png(grey_alpha, before=[linear_grey])),
        Tricky("icc-grey-on-rgb", png(rgb, before=[linear_grey, gama(1.0)])),
        Tricky("icc-rgb-on-grey", png(grey, before=[wide, gama(1.0)])),
        Tricky("jpeg-icc-wide", encode(rgb, "JPEG", quality=95, icc_profile=wide_gamut_profile())),
        Tricky(
            "jpeg-icc-grey", encode(grey, "JPEG", quality=95, icc_profile=grey_linear_profile())
        ),
        Tricky("jpeg-cmyk", encode(rgb.convert("CMYK"), "JPEG", quality=95)),
        Tricky("gif-icc", gif_with_profile(encode(posterised, "GIF"), wide_gamut_profile())),
        Tricky("apng-default-outside", apng_default_image_outside_animation(), frames=2),
        Tricky("apng-partial", apng_partial_frames(), frames=3),
    ]
    for orientation in range(1, 9):
        data = encode(rgb, "JPEG", quality=95, exif=secret_exif(orientation))
        found.append(Tricky(f"exif-{orientation}", data))
    for disposal in range(4):
        found.append(Tricky(f"gif-disposal-{disposal}", gif_with_disposal(disposal), frames=3))
    return found


def _with_chunks(data: bytes, *chunks: bytes) -> bytes:
    """`data` (a PNG) with `chunks` right after IHDR."""
    return data[:33] + b"".join(chunks) + data[33:]
