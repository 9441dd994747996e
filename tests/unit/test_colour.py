import io

import pytest
from PIL import Image, ImageCms

from imagehost.images.colour import (
    grey_profile,
    power_curve,
    primaries_to_xyz_d50,
    rgb_profile,
    source_profile,
    to_srgb,
)
from tests import tricky

SRGB_CHROMATICITY = (0.3127, 0.3290, 0.64, 0.33, 0.30, 0.60, 0.15, 0.06)
# sRGB's primaries adapted to D50 (Bradford), as published with the ICC's sRGB profiles.
SRGB_D50 = ((0.4361, 0.3851, 0.1431), (0.2225, 0.7169, 0.0606), (0.0139, 0.0971, 0.7141))


def srgb_encoded(linear: float) -> int:
    """The IEC 61966-2-1 curve, written out here independently of LittleCMS."""
    value = 12.92 * linear if linear <= 0.0031308 else 1.055 * linear ** (1 / 2.4) - 0.055
    return round(value * 255)


def grey(value: int, mode: str = "RGB") -> Image.Image:
    return Image.new("L", (4, 4), value).convert(mode)


def test_primaries_give_the_published_srgb_matrix() -> None:
    matrix = primaries_to_xyz_d50(SRGB_CHROMATICITY)
    for row, expected in zip(matrix, SRGB_D50, strict=True):
        assert row == pytest.approx(expected, abs=2e-4)


def test_unusable_primaries_are_refused() -> None:
    with pytest.raises(ValueError):
        primaries_to_xyz_d50((0.3127, 0.329, 0.64, 0.33, 0.64, 0.33, 0.15, 0.06))  # red == green
    with pytest.raises(ValueError):
        primaries_to_xyz_d50((0.3127, 0.0, 0.64, 0.33, 0.30, 0.60, 0.15, 0.06))


def test_built_profiles_are_read_by_littlecms() -> None:
    rgb = ImageCms.ImageCmsProfile(io.BytesIO(tricky.wide_gamut_profile()))
    assert rgb.profile.xcolor_space == "RGB "
    assert rgb.profile.profile_description == "wide gamut, 2.2"
    # Display P3 profiles publish rXYZ as (0.5151, 0.2412, -0.0011).
    assert rgb.profile.red_colorant[0] == pytest.approx((0.5151, 0.2412, -0.0011), abs=2e-4)
    grey_one = ImageCms.ImageCmsProfile(io.BytesIO(grey_profile(power_curve(1.8))))
    assert grey_one.profile.xcolor_space == "GRAY"


@pytest.mark.parametrize(
    ("gamma", "value"), [(1.0, 128), (1 / 1.8, 128), (0.7, 60), (1.0, 10)], ids=str
)
def test_gamma_is_decoded_to_light_then_encoded_as_srgb(gamma: float, value: int) -> None:
    expected = srgb_encoded((value / 255) ** (1 / gamma))
    rgb = to_srgb(grey(value), {"gamma": gamma})
    assert rgb.mode == "RGB"
    assert all(abs(c - expected) <= 1 for c in rgb.getpixel((0, 0)))
    single = to_srgb(grey(value, "L"), {"gamma": gamma})
    assert single.mode == "L"
    assert abs(single.getpixel((0, 0)) - expected) <= 1


def test_alpha_is_kept() -> None:
    image = Image.new("LA", (4, 4), (128, 77))
    out = to_srgb(image, {"gamma": 1.0})
    assert out.mode == "LA"
    assert out.getpixel((0, 0)) == (srgb_encoded(128 / 255), 77)
    rgba = to_srgb(image.convert("RGBA"), {"gamma": 1.0})
    assert rgba.mode == "RGBA" and rgba.getpixel((0, 0))[3] == 77


def test_a_white_point_other_than_srgbs_is_adapted_so_grey_stays_grey() -> None:
    out = to_srgb(grey(128), {"gamma": 1 / 2.2, "chromaticity": tricky.WIDE_D50})
    red, green, blue = out.getpixel((0, 0))
    assert max(red, green, blue) - min(red, green, blue) <= 1


@pytest.mark.parametrize(
    "info",
    [
        {},
        {"srgb": 0, "gamma": 1.0},  # sRGB before gAMA
        {"chromaticity": tricky.WIDE_D50},  # cHRM alone is ignored
        {"gamma": 0.45455},  # 1/2.2 is drawn as sRGB
        {"gamma": 0.44},
        {"gamma": 0.0},  # libpng drops such a gAMA
        {"icc_profile": grey_profile(power_curve(1.0)), "gamma": 1.0},  # a profile for grey
    ],
    ids=["nothing", "srgb", "chrm", "gamma-2.2", "gamma-near-2.2", "gamma-0", "grey-icc"],
)
def test_left_as_srgb(info: dict) -> None:
    assert source_profile("RGB", info) is None
    assert to_srgb(grey(128), info).getpixel((0, 0)) == (128, 128, 128)


def test_icc_profile_comes_before_gamma() -> None:
    info = {"icc_profile": grey_profile(power_curve(1.8)), "gamma": 1.0}
    assert to_srgb(grey(128, "L"), info).getpixel((0, 0)) == srgb_encoded((128 / 255) ** 1.8)


def test_an_unreadable_profile_is_passed_over_for_gamma() -> None:
    out = to_srgb(grey(128), {"icc_profile": b"not a profile", "gamma": 1.0})
    assert out.getpixel((0, 0))[0] == srgb_encoded(128 / 255)


def test_gamma_near_srgb_with_chromaticities_is_applied() -> None:
    info = {"gamma": 1 / 2.2, "chromaticity": tricky.WIDE_D50}
    assert source_profile("RGB", info) is not None
    assert to_srgb(Image.new("RGB", (4, 4), (0, 200, 0)), info).getpixel((0, 0))[1] > 200


def test_cmyk_with_a_profile_for_rgb_is_converted_plainly() -> None:
    cmyk = Image.new("CMYK", (4, 4), (0, 255, 255, 0))
    out = to_srgb(cmyk, {"icc_profile": tricky.wide_gamut_profile()})
    assert out.mode == "RGB" and out.getpixel((0, 0)) == (255, 0, 0)


def test_rgb_profile_round_trip_through_srgb_primaries_is_neutral() -> None:
    profile = rgb_profile(primaries_to_xyz_d50(SRGB_CHROMATICITY), power_curve(1.0))
    out = to_srgb(Image.new("RGB", (4, 4), (128, 64, 200)), {"icc_profile": profile})
    expected = tuple(srgb_encoded(v / 255) for v in (128, 64, 200))
    assert all(abs(a - b) <= 1 for a, b in zip(out.getpixel((0, 0)), expected, strict=True))
