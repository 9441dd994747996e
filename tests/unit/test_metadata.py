import io
import zlib

import pytest
from PIL import Image, ImageSequence

from imagehost.images.metadata import strip_metadata
from tests import images


def frames(data: bytes) -> list[tuple[str, tuple[int, int], bytes, object]]:
    """Every decoded frame: mode, size, pixels and duration."""
    with Image.open(io.BytesIO(data)) as image:
        return [
            (frame.mode, frame.size, frame.tobytes(), frame.info.get("duration"))
            for frame in ImageSequence.Iterator(image)
        ]


def open_image(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def assert_no_secrets(data: bytes) -> None:
    assert [secret for secret in images.SECRETS if secret in data] == []


# --- JPEG ---


def test_jpeg_loses_exif_xmp_iptc_comment_and_trailer() -> None:
    original = images.jpeg_with_metadata(orientation=6)

    stripped = strip_metadata(original, "jpeg").data

    assert_no_secrets(stripped)
    image = open_image(stripped)
    assert [name for name, _ in image.applist] == ["APP0", "APP1", "APP2"]
    assert dict(image.getexif()) == {0x0112: 6}
    assert image.getexif().get_ifd(0x8825) == {}
    assert not {"xmp", "comment", "photoshop"} & image.info.keys()
    assert stripped.endswith(b"\xff\xd9")


def test_jpeg_keeps_icc_profile_byte_identical() -> None:
    profile = images.srgb_profile()
    stripped = strip_metadata(images.jpeg_with_metadata(icc=profile), "jpeg").data
    assert open_image(stripped).info["icc_profile"] == profile


def test_jpeg_keeps_icc_profile_split_over_segments() -> None:
    # Anything over 64 KiB is spread over several APP2 segments.
    profile = images.srgb_profile() + bytes(range(256)) * 400
    stripped = strip_metadata(images.jpeg_with_metadata(icc=profile), "jpeg").data
    image = open_image(stripped)
    assert [name for name, _ in image.applist].count("APP2") == 2
    assert image.info["icc_profile"] == profile


@pytest.mark.parametrize(
    "save",
    [{}, {"progressive": True}, {"restart_marker_rows": 1}, {"subsampling": 0}],
    ids=["baseline", "progressive", "restart-markers", "4:4:4"],
)
def test_jpeg_pixels_identical(save: dict) -> None:
    original = images.jpeg_with_metadata(**save)
    assert frames(strip_metadata(original, "jpeg").data) == frames(original)


@pytest.mark.parametrize("orientation", [1, None])
def test_jpeg_without_a_rotation_loses_exif_entirely(orientation: int | None) -> None:
    stripped = strip_metadata(images.jpeg_with_metadata(orientation=orientation), "jpeg").data
    assert [name for name, _ in open_image(stripped).applist] == ["APP0", "APP2"]


@pytest.mark.parametrize("orientation", range(2, 9))
def test_jpeg_keeps_every_rotation(orientation: int) -> None:
    stripped = strip_metadata(images.jpeg_with_metadata(orientation=orientation), "jpeg").data
    assert dict(open_image(stripped).getexif()) == {0x0112: orientation}


def test_jpeg_report_says_what_went() -> None:
    report = strip_metadata(images.jpeg_with_metadata(), "jpeg")
    assert report.removed == (
        "IPTC/Photoshop (APP13)",
        "EXIF (APP1)",
        "XMP (APP1)",
        "comment (COM)",
        f"{len(images.zip_payload())} bytes after EOI",
    )


@pytest.mark.parametrize("mode", ["RGB", "L", "CMYK"])
def test_clean_jpeg_comes_back_byte_identical(mode: str) -> None:
    original = images.jpeg(images.picture(mode=mode))
    report = strip_metadata(original, "jpeg")
    assert report.data == original
    assert report.removed == ()


def test_cmyk_jpeg_keeps_adobe_segment() -> None:
    original = images.jpeg(images.picture(mode="CMYK"), comment=b"Jane Secret")
    stripped = strip_metadata(original, "jpeg").data
    assert [name for name, _ in open_image(stripped).applist] == ["APP14"]
    assert frames(stripped) == frames(original)


def test_jpeg_loses_jfif_thumbnail() -> None:
    original = images.jpeg(images.picture())
    assert original[2:4] == b"\xff\xe0" and original[4:6] == b"\x00\x10"
    # A JFIF header with a 1x1 thumbnail of the "original" picture.
    jfif = original[6:18] + b"\x01\x01" + b"\xff\x00\x00"
    with_thumbnail = original[:2] + b"\xff\xe0" + (len(jfif) + 2).to_bytes(2, "big") + jfif
    with_thumbnail += original[20:]

    report = strip_metadata(with_thumbnail, "jpeg")

    assert report.data == original
    assert report.removed == ("JFIF thumbnail (APP0)",)


def test_jpeg_loses_other_app_segments() -> None:
    original = images.jpeg(images.picture())
    mpf = b"\xff\xe2\x00\x0aMPF\0abcd"
    app5 = b"\xff\xe5\x00\x0dJane Secret"
    report = strip_metadata(original[:2] + mpf + app5 + original[2:], "jpeg")
    assert report.data == original
    assert report.removed == ("APP2", "APP5")


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda data: data[: len(data) // 2], "without EOI"),
        (lambda data: data[:-2], "without EOI"),
        (lambda data: b"\x00" + data, "SOI"),
        (lambda data: data[:2] + b"\xff\xe1\xff\xff" + data[2:], "bad length"),
        (lambda data: data[:2] + b"junk" + data[2:], "expected a marker"),
        (lambda data: data[:2] + b"\xff\xf7\x00\x02" + data[2:], "unexpected marker 0xF7"),
        (lambda data: data[:2] + b"\xff\xd9", "no image scan"),
    ],
    ids=["cut-in-scan", "no-eoi", "no-soi", "overlong", "junk", "jpeg-ls", "empty"],
)
def test_malformed_jpeg_is_refused(damage, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        strip_metadata(damage(images.jpeg(images.picture())), "jpeg")


# --- PNG ---


def test_png_loses_text_exif_time_and_trailer() -> None:
    original = images.png_with_metadata()

    stripped = strip_metadata(original, "png").data

    assert_no_secrets(stripped)
    kinds = [kind for kind, _ in images.png_chunks(stripped)]
    assert kinds == [b"IHDR", b"iCCP", b"eXIf", b"IDAT", b"IEND"]
    assert stripped.endswith(b"IEND\xaeB`\x82")
    assert dict(open_image(stripped).getexif()) == {0x0112: 6}


def test_png_keeps_iccp_byte_identical_and_pixels() -> None:
    original = images.png_with_metadata()
    stripped = strip_metadata(original, "png").data
    iccp = [chunk for chunk in images.png_chunks(original) if chunk[0] == b"iCCP"]
    assert [chunk for chunk in images.png_chunks(stripped) if chunk[0] == b"iCCP"] == iccp
    assert open_image(stripped).info["icc_profile"] == images.srgb_profile()
    assert frames(stripped) == frames(original)


def test_png_report_says_what_went() -> None:
    report = strip_metadata(images.png_with_metadata(), "png")
    assert report.removed == ("tEXt", "zTXt", "iTXt", "tIME", "eXIf", "36 bytes after IEND")


@pytest.mark.parametrize(
    "image",
    [
        images.picture(mode="RGBA"),
        images.picture(mode="L"),
        images.picture(mode="LA"),
        images.picture(mode="1"),
        images.picture().convert("I;16"),
        images.picture().quantize(16),
    ],
    ids=["RGBA", "L", "LA", "1-bit", "16-bit", "palette"],
)
def test_clean_png_comes_back_byte_identical(image: Image.Image) -> None:
    original = images.png(image)
    assert strip_metadata(original, "png").data == original


def test_palette_png_keeps_trns() -> None:
    original = images.png(images.picture().quantize(16), transparency=3, dpi=(300, 300))
    stripped = strip_metadata(original, "png").data
    assert stripped == original
    assert open_image(stripped).info["transparency"] == 3


def test_png_loses_private_chunks() -> None:
    original = images.png(images.picture())
    private = b"\0\0\0\x0bprVtJane Secret" + zlib.crc32(b"prVtJane Secret").to_bytes(4, "big")
    ihdr_end = 8 + 25
    report = strip_metadata(original[:ihdr_end] + private + original[ihdr_end:], "png")
    assert report.data == original
    assert report.removed == ("prVt",)


def _with_chunk_after_ihdr(data: bytes, chunk: bytes) -> bytes:
    return data[:33] + chunk + data[33:]


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda data: data[:-12], "before the IEND"),
        (lambda data: data[:-20], "runs past the end"),
        (lambda data: data[:1] + b"X" + data[2:], "signature"),
        (lambda data: data[:8] + data[33:], "IHDR"),
        (lambda data: data[:-16] + b"\0\0\0\0" + data[-12:], "IDAT chunk has a bad CRC"),
        (lambda data: _with_chunk_after_ihdr(data, b"\0\0\0\0ABCD\0\0\0\0"), "critical chunk ABCD"),
        (lambda data: _with_chunk_after_ihdr(data, b"\0\0\0\0a b!\0\0\0\0"), "chunk type"),
    ],
    ids=["no-iend", "cut-chunk", "signature", "no-ihdr", "bad-crc", "critical", "bad-type"],
)
def test_malformed_png_is_refused(damage, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        strip_metadata(damage(images.png(images.picture())), "png")


# --- GIF ---


def test_gif_keeps_every_frame_duration_and_loop() -> None:
    original = images.animated_gif_with_metadata()

    stripped = strip_metadata(original, "gif").data

    assert [duration for *_, duration in frames(stripped)] == [100, 200, 300]
    assert frames(stripped) == frames(original)
    with Image.open(io.BytesIO(stripped)) as image:
        assert image.info["loop"] == 0
        assert image.n_frames == 3


def test_gif_loses_comment_xmp_and_trailer() -> None:
    original = images.animated_gif_with_metadata()
    assert b"XMP DataXMP" in original

    report = strip_metadata(original, "gif")

    assert_no_secrets(report.data)
    assert b"XMP DataXMP" not in report.data
    assert "comment" not in open_image(report.data).info
    assert report.data.endswith(b"\x00;")
    assert report.removed == (
        "comment extension",
        "XMP application extension",
        "application extension 'MGK8BIM0000'",
        f"{len(images.zip_payload())} bytes after the trailer",
    )


@pytest.mark.parametrize(
    "gif",
    [
        images.animated_gif(duration=[40, 80, 120], loop=0),
        images.animated_gif(duration=50, transparency=0, disposal=2),
        images.animated_gif(save_all=False),
    ],
    ids=["animated", "transparent", "still"],
)
def test_clean_gif_comes_back_byte_identical(gif: bytes) -> None:
    assert strip_metadata(gif, "gif").data == gif


def test_gif_without_trailer_gets_one() -> None:
    original = images.animated_gif(loop=0)
    report = strip_metadata(original[:-1], "gif")
    assert report.data == original
    assert report.removed == ()


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda data: data[:-10], "sub-blocks run past the end"),
        (lambda data: data[:-1] + b"!", "extension at offset"),
        (lambda data: data[:-1] + b"\x00;", "unexpected byte 0x00"),
        (lambda data: b"GIF90a" + data[6:], "signature"),
        (lambda data: data[:10], "logical screen"),
    ],
    ids=["cut-frame", "cut-extension", "junk", "signature", "short"],
)
def test_malformed_gif_is_refused(damage, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        strip_metadata(damage(images.animated_gif()), "gif")


def test_gif_without_image_is_refused() -> None:
    gif = images.animated_gif()
    header = gif[: 13 + (3 << ((gif[10] & 7) + 1))]
    with pytest.raises(ValueError, match="trailer before any image"):
        strip_metadata(header + b";", "gif")
    with pytest.raises(ValueError, match="before any image"):
        strip_metadata(header, "gif")


def test_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="unsupported image format: 'webp'"):
        strip_metadata(b"RIFF", "webp")
