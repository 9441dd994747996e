"""Colour-manage a decoded image to sRGB from what a browser would use to draw it.

A PNG's colour chunks are taken in the order libpng and Chromium take them: iCCP, then sRGB,
then gAMA/cHRM (made into a small ICC profile here, as Skia makes one from them).
"""

import io
import struct
from collections.abc import Mapping
from typing import Any

from PIL import Image, ImageCms

_SRGB = ImageCms.createProfile("sRGB")
_D50 = (0.9642, 1.0, 0.8249)  # the ICC profile connection space's white
# Chromium draws a gAMA within 5% of 1/2.2 as sRGB (libpng's threshold for a gamma correction
# not worth making), unless a cHRM comes with it.
_SRGB_GAMMA, _GAMMA_TOLERANCE = 0.45455, 0.05  # 1/2.2 as gAMA stores it
_SRGB_CHROMATICITY = (0.3127, 0.3290, 0.64, 0.33, 0.30, 0.60, 0.15, 0.06)  # white, R, G, B
# The ICC colour space a profile must declare for each mode; Chromium draws an image whose
# profile is for another (a grey profile on a colour image, say) as sRGB.
_SPACES = {"L": "GRAY", "LA": "GRAY", "RGB": "RGB", "RGBA": "RGB", "CMYK": "CMYK"}
_BRADFORD = ((0.8951, 0.2664, -0.1614), (-0.7502, 1.7135, 0.0367), (0.0389, -0.0685, 1.0296))

Matrix = tuple[tuple[float, float, float], ...]


def to_srgb(image: Image.Image, info: Mapping[str, Any]) -> Image.Image:
    """`image` (L, LA, RGB, RGBA or CMYK) as sRGB pixels, given the colour facts Pillow read
    from its file (`info`: icc_profile, srgb, gamma, chromaticity). Grey stays grey, alpha
    is kept, CMYK becomes RGB. What Chromium ignores is ignored here too."""
    profile = source_profile(image.mode, info)
    if profile is None:
        return image.convert("RGB") if image.mode == "CMYK" else image
    alpha = image.getchannel("A") if image.mode in ("LA", "RGBA") else None
    colour = image.convert(image.mode[:-1]) if alpha else image
    try:
        rgb = ImageCms.profileToProfile(colour, profile, _SRGB, outputMode="RGB")
    except ImageCms.PyCMSError:
        return image.convert("RGB") if image.mode == "CMYK" else image  # a profile LCMS can't use
    if image.mode in ("L", "LA"):
        rgb = rgb.convert("L")  # a neutral grey stays neutral in sRGB
    if alpha:
        rgb.putalpha(alpha)
    return rgb


def source_profile(mode: str, info: Mapping[str, Any]) -> ImageCms.ImageCmsProfile | None:
    """The profile the pixels are in, or None when they are sRGB already (or taken as sRGB)."""
    icc = info.get("icc_profile")
    if icc:
        try:
            profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        except (ImageCms.PyCMSError, OSError, ValueError):
            profile = None  # one Chromium cannot read is passed over for sRGB or gAMA
        if profile:
            # One that does not fit the image leaves it sRGB, gAMA or not.
            fits = profile.profile.xcolor_space.strip() == _SPACES.get(mode)
            return profile if fits else None
    gamma = info.get("gamma")
    if "srgb" in info or mode == "CMYK" or not gamma:
        return None  # cHRM without gAMA is ignored too
    near_srgb = abs(gamma / _SRGB_GAMMA - 1) <= _GAMMA_TOLERANCE
    if mode in ("L", "LA"):
        # A grey's colour is the white point, which the PCS maps to sRGB's: only gamma counts.
        return None if near_srgb else _load(grey_profile(power_curve(1 / gamma)))
    if near_srgb and "chromaticity" not in info:
        return None
    curve = power_curve(1 / gamma)
    try:
        columns = primaries_to_xyz_d50(info.get("chromaticity") or _SRGB_CHROMATICITY)
    except ValueError:
        return None  # Chromium gives up on unusable chromaticities: the numbers are drawn as sRGB
    return _load(rgb_profile(columns, curve))


def primaries_to_xyz_d50(chromaticity: tuple[float, ...]) -> Matrix:
    """The RGB-to-XYZ matrix (rows) for cHRM's (white x, y, red x, y, green x, y, blue x, y),
    adapted to D50 with Bradford's method, as skcms_PrimariesToXYZD50 computes it."""
    wx, wy, *primaries = chromaticity
    xyz = [_xyz(x, y) for x, y in zip(primaries[::2], primaries[1::2], strict=True)]
    rgb_to_xyz = tuple(zip(*xyz, strict=True))
    white = _xyz(wx, wy)
    scale = _apply(_inverse(rgb_to_xyz), white)
    scaled = tuple(tuple(row[i] * scale[i] for i in range(3)) for row in rgb_to_xyz)
    source, target = _apply(_BRADFORD, white), _apply(_BRADFORD, _D50)
    cone = tuple(tuple(target[i] / source[i] * _BRADFORD[i][j] for j in range(3)) for i in range(3))
    adapt = _multiply(_inverse(_BRADFORD), cone)
    return _multiply(adapt, scaled)


def rgb_profile(columns: Matrix, curve: bytes, name: str = "from PNG gAMA/cHRM") -> bytes:
    """A matrix/curve RGB display profile (ICC v2): `columns` from primaries_to_xyz_d50,
    `curve` a TRC tag body (the same for the three channels)."""
    red, green, blue = (tuple(row[i] for row in columns) for i in range(3))
    return _icc(
        b"RGB ",
        [
            (b"desc", _description(name)),
            (b"wtpt", _xyz_tag(_D50)),
            (b"rXYZ", _xyz_tag(red)),
            (b"gXYZ", _xyz_tag(green)),
            (b"bXYZ", _xyz_tag(blue)),
            (b"rTRC", curve),
            (b"gTRC", curve),
            (b"bTRC", curve),
        ],
    )


def grey_profile(curve: bytes, name: str = "from PNG gAMA") -> bytes:
    """A grey display profile (ICC v2) with the tone curve `curve`."""
    return _icc(
        b"GRAY", [(b"desc", _description(name)), (b"wtpt", _xyz_tag(_D50)), (b"kTRC", curve)]
    )


def power_curve(exponent: float) -> bytes:
    """A parametric curve tag: Y = X ** exponent."""
    return b"para\0\0\0\0" + struct.pack(">HHi", 0, 0, _s15(exponent))


def _load(data: bytes) -> ImageCms.ImageCmsProfile:
    return ImageCms.ImageCmsProfile(io.BytesIO(data))


def _icc(space: bytes, tags: list[tuple[bytes, bytes]]) -> bytes:
    table_end = 128 + 4 + 12 * len(tags)
    entries, bodies, offset = [], [], table_end
    for signature, body in tags:
        entries.append(struct.pack(">4sII", signature, offset, len(body)))
        padded = body + b"\0" * (-len(body) % 4)
        bodies.append(padded)
        offset += len(padded)
    header = struct.pack(
        ">I4s4s4s4s4s6H4s4sI4s4s8sI12s4s16s28s",
        offset, b"\0" * 4, b"\x02\x10\0\0", b"mntr", space, b"XYZ ",
        2026, 1, 1, 0, 0, 0, b"acsp", b"\0" * 4, 0, b"\0" * 4, b"\0" * 4, b"\0" * 8, 0,
        _xyz_numbers(_D50), b"\0" * 4, b"\0" * 16, b"\0" * 28,
    )  # fmt: skip
    return header + struct.pack(">I", len(tags)) + b"".join(entries) + b"".join(bodies)


def _description(text: str) -> bytes:
    ascii_text = text.encode("ascii") + b"\0"
    return b"desc\0\0\0\0" + struct.pack(">I", len(ascii_text)) + ascii_text + b"\0" * 78


def _xyz_tag(xyz: tuple[float, ...]) -> bytes:
    return b"XYZ \0\0\0\0" + _xyz_numbers(xyz)


def _xyz_numbers(xyz: tuple[float, ...]) -> bytes:
    return struct.pack(">3i", *map(_s15, xyz))


def _s15(value: float) -> int:
    return round(value * 65536)


def _xyz(x: float, y: float) -> tuple[float, float, float]:
    if not (0 <= x <= 1 and 0 < y <= 1):
        raise ValueError(f"not a chromaticity: {x}, {y}")
    return x / y, 1.0, (1 - x - y) / y


def _apply(matrix: Matrix, vector: tuple[float, ...]) -> tuple[float, float, float]:
    return tuple(sum(m * v for m, v in zip(row, vector, strict=True)) for row in matrix)


def _multiply(a: Matrix, b: Matrix) -> Matrix:
    return tuple(
        tuple(sum(a[i][k] * b[k][j] for k in range(3)) for j in range(3)) for i in range(3)
    )


def _inverse(m: Matrix) -> Matrix:
    (a, b, c), (d, e, f), (g, h, i) = m
    det = a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g)
    if abs(det) < 1e-9:
        raise ValueError("the primaries do not span a colour space")
    cofactors = (
        (e * i - f * h, c * h - b * i, b * f - c * e),
        (f * g - d * i, a * i - c * g, c * d - a * f),
        (d * h - e * g, b * g - a * h, a * e - b * d),
    )
    return tuple(tuple(value / det for value in row) for row in cofactors)
