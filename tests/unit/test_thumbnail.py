import io

import pytest
from PIL import Image, ImageChops, ImageStat

from imagehost.images.thumbnail import Thumbnail, make_thumbnail
from tests import images, tricky

RED, BLUE = (255, 0, 0), (0, 0, 255)


def decode(thumbnail: Thumbnail) -> Image.Image:
    image = Image.open(io.BytesIO(thumbnail.data))
    image.load()
    assert image.size == (thumbnail.width, thumbnail.height)
    assert image.format == {".jpg": "JPEG", ".png": "PNG"}[thumbnail.extension]
    return image


def close(colour: tuple[int, ...], expected: tuple[int, ...], tolerance: int = 12) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(colour, expected, strict=True))


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        ((1000, 600), (320, 192)),
        ((600, 1000), (192, 320)),
        ((320, 320), (320, 320)),
        ((100, 50), (100, 50)),
        ((3000, 4), (320, 1)),
    ],
    ids=["landscape", "portrait", "exact", "small-not-upscaled", "sliver"],
)
@pytest.mark.parametrize("fmt", ["jpeg", "png", "gif"])
def test_size(fmt: str, size: tuple[int, int], expected: tuple[int, int]) -> None:
    image = images.picture(size)
    data = {"jpeg": images.jpeg, "png": images.png}.get(fmt, _gif)(image)
    thumbnail = make_thumbnail(data, fmt)
    assert (thumbnail.width, thumbnail.height) == expected
    assert decode(thumbnail).size == expected


def _gif(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.convert("P").save(out, "GIF")
    return out.getvalue()


def test_large_jpeg_is_scaled_exactly() -> None:
    # Big enough that libjpeg decodes at reduced scale first.
    thumbnail = make_thumbnail(images.jpeg(images.halves((4000, 3000))), "jpeg")
    image = decode(thumbnail)
    assert image.size == (320, 240)
    assert close(image.getpixel((80, 120)), RED)
    assert close(image.getpixel((240, 120)), BLUE)


def test_max_side() -> None:
    thumbnail = make_thumbnail(images.png(images.picture((500, 250))), "png", max_side=100)
    assert (thumbnail.width, thumbnail.height) == (100, 50)


@pytest.mark.parametrize(
    ("orientation", "size", "red_at", "blue_at"),
    [
        (1, (320, 160), (80, 80), (240, 80)),
        (3, (320, 160), (240, 80), (80, 80)),  # rotated 180
        (6, (160, 320), (80, 80), (80, 240)),  # rotated 90 clockwise: left goes up
        (8, (160, 320), (80, 240), (80, 80)),  # rotated 90 anticlockwise: left goes down
    ],
)
def test_exif_orientation_applied(orientation, size, red_at, blue_at) -> None:
    data = images.jpeg(images.halves((800, 400)), exif=images.secret_exif(orientation))
    image = decode(make_thumbnail(data, "jpeg"))
    assert image.size == size
    assert close(image.getpixel(red_at), RED)
    assert close(image.getpixel(blue_at), BLUE)


def test_png_exif_orientation_applied() -> None:
    image = decode(make_thumbnail(images.png_with_metadata(images.halves((800, 400))), "png"))
    assert image.size == (160, 320)
    assert close(image.getpixel((80, 80)), RED)


def test_xmp_orientation_ignored_like_browsers_do() -> None:
    xmp = b'<x:xmpmeta><rdf:Description tiff:Orientation="6"/></x:xmpmeta>'
    data = images.jpeg(images.halves((800, 400)), xmp=xmp)
    assert make_thumbnail(data, "jpeg").width == 320


def test_animated_gif_gives_first_frame_still() -> None:
    thumbnail = make_thumbnail(images.animated_gif_with_metadata(), "gif")
    assert thumbnail.content_type == "image/jpeg"
    image = decode(thumbnail)
    assert getattr(image, "n_frames", 1) == 1
    assert close(image.getpixel((4, 12)), RED)
    assert close(image.getpixel((28, 12)), BLUE)


def test_opaque_image_gives_jpeg() -> None:
    thumbnail = make_thumbnail(images.jpeg(images.picture()), "jpeg")
    assert (thumbnail.extension, thumbnail.content_type) == (".jpg", "image/jpeg")
    assert decode(thumbnail).mode == "RGB"


def test_alpha_gives_png() -> None:
    picture = images.picture((640, 480), "RGBA")
    picture.paste((0, 0, 0, 0), (0, 0, 320, 480))
    thumbnail = make_thumbnail(images.png(picture), "png")
    assert (thumbnail.extension, thumbnail.content_type) == (".png", "image/png")
    image = decode(thumbnail)
    assert image.mode == "RGBA"
    assert image.getpixel((40, 120))[3] == 0
    assert image.getpixel((280, 120))[3] == 255


def test_alpha_band_with_nothing_transparent_gives_jpeg() -> None:
    thumbnail = make_thumbnail(images.png(images.picture(mode="RGBA")), "png")
    assert thumbnail.extension == ".jpg"
    assert decode(thumbnail).mode == "RGB"


def test_gif_transparency_gives_png() -> None:
    picture = images.halves((64, 48), "P")
    out = io.BytesIO()
    picture.save(out, "GIF", transparency=picture.getpixel((0, 0)))
    image = decode(make_thumbnail(out.getvalue(), "gif"))
    assert image.mode == "RGBA"
    assert image.getpixel((4, 4))[3] == 0
    assert image.getpixel((60, 4)) == BLUE + (255,)


def test_palette_png_with_trns_gives_png() -> None:
    picture = images.halves((64, 48), "P")
    data = images.png(picture, transparency=picture.getpixel((60, 4)))
    image = decode(make_thumbnail(data, "png"))
    assert image.mode == "RGBA"
    assert image.getpixel((4, 4)) == RED + (255,)
    assert image.getpixel((60, 4))[3] == 0


def test_rgb_png_with_trns_gives_png() -> None:
    data = images.png(images.halves((64, 48)), transparency=RED)
    image = decode(make_thumbnail(data, "png"))
    assert image.getpixel((4, 4))[3] == 0
    assert image.getpixel((60, 4)) == BLUE + (255,)


def test_no_metadata_in_jpeg_thumbnail() -> None:
    thumbnail = make_thumbnail(images.jpeg_with_metadata(), "jpeg")
    image = decode(thumbnail)
    assert [name for name, _ in image.applist] == ["APP0"]  # JFIF only
    assert not {"exif", "xmp", "comment", "icc_profile", "photoshop"} & image.info.keys()
    assert [secret for secret in images.SECRETS if secret in thumbnail.data] == []


def test_no_metadata_in_png_thumbnail() -> None:
    picture = images.picture(mode="RGBA")
    picture.putpixel((0, 0), (0, 0, 0, 0))
    thumbnail = make_thumbnail(images.png_with_metadata(picture), "png")
    assert thumbnail.extension == ".png"
    assert [kind for kind, _ in images.png_chunks(thumbnail.data)] == [b"IHDR", b"IDAT", b"IEND"]


def test_no_comment_from_gif_in_thumbnail() -> None:
    thumbnail = make_thumbnail(images.animated_gif_with_metadata(), "gif")
    assert "comment" not in decode(thumbnail).info
    assert b"Jane Secret" not in thumbnail.data


def test_icc_profile_applied_not_carried() -> None:
    data = images.jpeg(images.halves((640, 480)), icc_profile=images.srgb_profile())
    image = decode(make_thumbnail(data, "jpeg"))
    assert "icc_profile" not in image.info
    assert close(image.getpixel((80, 120)), RED)


def test_broken_icc_profile_is_ignored() -> None:
    data = images.jpeg(images.halves((640, 480)), icc_profile=b"not a profile")
    image = decode(make_thumbnail(data, "jpeg"))
    assert close(image.getpixel((80, 120)), RED)


@pytest.mark.parametrize("icc", [False, True], ids=["plain", "with-profile"])
def test_cmyk_jpeg(icc: bool) -> None:
    cmyk = Image.new("CMYK", (640, 480), (0, 255, 255, 0))  # red in ink
    save = {"icc_profile": images.srgb_profile()} if icc else {}
    # An sRGB profile does not fit CMYK data: the plain conversion must take over.
    image = decode(make_thumbnail(images.jpeg(cmyk, **save), "jpeg"))
    assert image.mode == "RGB"
    assert close(image.getpixel((160, 120)), RED)


def test_sixteen_bit_grey_png_is_scaled_not_clipped() -> None:
    grey = Image.new("I;16", (640, 480), 0x8080)
    grey.paste(Image.new("I;16", (320, 480), 0xFFFF))
    image = decode(make_thumbnail(images.png(grey), "png"))
    assert image.mode == "L"
    assert image.getpixel((40, 120)) == 255
    assert abs(image.getpixel((280, 120)) - 128) <= 1


def test_sixteen_bit_grey_png_with_trns() -> None:
    grey = Image.new("I;16", (64, 48), 1000)
    grey.paste(Image.new("I;16", (32, 48), 2000))  # pasting a number would fill bytes
    image = decode(make_thumbnail(images.png(grey, transparency=2000), "png"))
    assert image.mode == "LA"
    assert image.getpixel((4, 4))[1] == 0
    assert image.getpixel((60, 4)) == (4, 255)


@pytest.mark.parametrize(
    ("mode", "fmt", "expected_mode"),
    [("L", "jpeg", "L"), ("L", "png", "L"), ("1", "png", "L"), ("LA", "png", "LA")],
)
def test_grey_modes(mode: str, fmt: str, expected_mode: str) -> None:
    picture = images.picture((400, 300), mode)
    if mode == "LA":
        picture.putpixel((0, 0), (0, 0))
    data = images.jpeg(picture) if fmt == "jpeg" else images.png(picture)
    thumbnail = make_thumbnail(data, fmt)
    assert decode(thumbnail).mode == expected_mode
    assert (thumbnail.width, thumbnail.height) == (320, 240)


def test_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="unsupported image format"):
        make_thumbnail(images.jpeg(images.picture()), "webp")


def test_format_must_match_data() -> None:
    with pytest.raises(OSError):
        make_thumbnail(images.png(images.picture()), "jpeg")


def mean_difference(a: Image.Image, b: Image.Image) -> float:
    return sum(ImageStat.Stat(ImageChops.difference(a, b)).mean) / len(a.getbands())


def test_apng_thumbnail_is_the_first_frame_browsers_show() -> None:
    image = decode(make_thumbnail(tricky.apng_default_image_outside_animation(), "png"))
    expected = tricky.scene().resize(image.size, Image.Resampling.BICUBIC)
    assert mean_difference(image, expected) < 3  # not the magenta default image


def test_gamma_tagged_png_thumbnail_is_colour_managed() -> None:
    plain = decode(make_thumbnail(tricky.png(tricky.scene()), "png"))
    linear = decode(make_thumbnail(tricky.png(tricky.scene(), before=[tricky.gama(1.0)]), "png"))
    assert mean_difference(plain, linear) > 15  # linear light encoded as sRGB is lighter
    assert ImageStat.Stat(linear).mean[0] > ImageStat.Stat(plain).mean[0]


def test_gamma_chunk_after_the_pixels_is_ignored_like_browsers_do() -> None:
    plain = decode(make_thumbnail(tricky.png(tricky.scene()), "png"))
    late = decode(make_thumbnail(tricky.png(tricky.scene(), after=[tricky.gama(1.0)]), "png"))
    assert mean_difference(plain, late) == 0


def test_grey_icc_profile_is_applied_and_grey_stays_grey() -> None:
    data = tricky.png(tricky.scene(mode="L"), before=[tricky.iccp(tricky.grey_linear_profile())])
    image = decode(make_thumbnail(data, "png"))
    assert image.mode == "L"
    plain = decode(make_thumbnail(tricky.png(tricky.scene(mode="L")), "png"))
    assert mean_difference(image, plain) > 15
