import io
import struct
import zlib

import pytest
from PIL import Image

from imagehost.images.check import ImageInfo, ImageRejected, decode_image, sniff_format
from tests import images, tricky

LIMIT = 5 * 1024 * 1024
PIXELS = 50_000_000


def check(data: bytes, max_pixels: int = PIXELS) -> ImageInfo:
    info, first_frame = decode_image(data, max_bytes=LIMIT, max_pixels=max_pixels)
    first_frame.close()
    return info


def rejected(data: bytes, max_pixels: int = PIXELS) -> ImageRejected:
    with pytest.raises(ImageRejected) as caught:
        check(data, max_pixels)
    return caught.value


@pytest.mark.parametrize(
    ("data", "fmt", "ext", "ctype"),
    [
        (images.jpeg((30, 20)), "jpeg", ".jpg", "image/jpeg"),
        (images.png((30, 20)), "png", ".png", "image/png"),
        (images.png((30, 20), mode="RGBA"), "png", ".png", "image/png"),
        (images.gif((30, 20)), "gif", ".gif", "image/gif"),
        (images.gif((30, 20), frames=3), "gif", ".gif", "image/gif"),
    ],
)
def test_accepts_the_three_formats(data, fmt, ext, ctype):
    info = check(data)
    assert (info.format, info.extension, info.content_type) == (fmt, ext, ctype)
    assert (info.width, info.height) == (30, 20)


def test_counts_gif_frames():
    assert check(images.gif(frames=3)).frames == 3


def test_format_comes_from_bytes_not_names():
    assert sniff_format(images.png()) == "png"
    assert sniff_format(b"GIF89a<html>") == "gif"
    assert sniff_format(b"<svg xmlns='http://www.w3.org/2000/svg'/>") is None


def test_exactly_the_limit_is_accepted():
    assert check(images.padded_png(LIMIT)).format == "png"


def test_one_byte_over_the_limit_is_413():
    error = rejected(images.padded_png(LIMIT + 1))
    assert error.status == 413
    assert "5,242,880" in error.message


def test_empty_file_is_refused():
    error = rejected(b"")
    assert error.status == 400 and "empty" in error.message


@pytest.mark.parametrize(
    "data",
    [
        b"hello, this is text",
        b"<html><script>alert(1)</script></html>",
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        images.encode(Image.new("RGB", (8, 8)), "BMP"),
        images.encode(Image.new("RGB", (8, 8)), "TIFF"),
        images.encode(Image.new("RGB", (8, 8)), "WEBP"),
        images.encode(Image.new("RGB", (16, 16)), "ICO"),
    ],
    ids=["text", "html", "svg", "bmp", "tiff", "webp", "ico"],
)
def test_other_formats_are_415_naming_the_allowed_ones(data):
    error = rejected(data)
    assert error.status == 415
    assert "JPEG, PNG or GIF" in error.message


@pytest.mark.parametrize("maker", [images.jpeg, images.png, images.gif], ids=["jpeg", "png", "gif"])
def test_truncated_files_are_refused(maker):
    data = maker((200, 200))
    error = rejected(data[: len(data) // 2])
    assert error.status == 422
    assert "damaged or incomplete" in error.message


def test_html_behind_a_gif_header_is_refused():
    error = rejected(b"GIF89a<html><script>alert(1)</script></html>")
    assert error.status == 422


def test_png_with_a_bad_crc_is_refused():
    data = bytearray(images.png((16, 16)))
    idat = data.index(b"IDAT")
    length = struct.unpack(">I", data[idat - 4 : idat])[0]
    data[idat + 4 + length] ^= 0xFF  # first byte of IDAT's CRC
    assert rejected(bytes(data)).status == 422


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims a huge size (a pixel flood)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body))
            + kind
            + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")
    )  # fmt: skip


def test_pixel_flood_is_refused_before_decoding():
    data = png_claiming(30000, 30000)
    assert len(data) < 200
    error = rejected(data)
    assert error.status == 422
    assert "30000x30000" in error.message


def test_pixel_cap_is_configurable():
    assert rejected(images.png((100, 100)), max_pixels=9999).status == 422
    assert check(images.png((100, 100)), max_pixels=10000).width == 100


def test_gif_pixel_flood_is_refused():
    data = bytearray(images.gif((10, 10)))
    data[6:10] = struct.pack("<HH", 65535, 65535)  # logical screen
    # the image descriptor's own size
    desc = data.index(b"\x2c")
    data[desc + 5 : desc + 9] = struct.pack("<HH", 65535, 65535)
    assert rejected(bytes(data)).status == 422


def test_result_describes_the_real_image():
    image = Image.new("RGB", (123, 45), "white")
    out = io.BytesIO()
    image.save(out, "PNG")
    info = check(out.getvalue())
    assert (info.width, info.height, info.frames) == (123, 45, 1)


@pytest.mark.parametrize("code_sizes", [(9,), (12,), (1,), (0,), (8, 9)], ids=str)
def test_gif_lzw_code_sizes_browsers_refuse_are_refused(code_sizes):
    refusal = rejected(tricky.gif_with_code_sizes(*code_sizes))
    assert refusal.status == 422
    frame, size = len(code_sizes), code_sizes[-1]
    assert refusal.message == (
        f"the GIF file's frame {frame} uses an LZW code size of {size}, which browsers cannot "
        "decode (they take 2 to 8)"
    )


def test_gif_lzw_code_sizes_browsers_take_are_accepted():
    assert check(tricky.gif_with_code_sizes(2, 5, 8)).frames == 3


def test_apng_default_image_outside_the_animation_is_not_a_frame():
    info, first = decode_image(
        tricky.apng_default_image_outside_animation(), max_bytes=LIMIT, max_pixels=PIXELS
    )
    with first:
        assert info.frames == 2
        assert first.convert("RGB").getpixel((0, 0)) != (255, 0, 255)  # the default image's
        assert first.convert("RGB").tobytes() == tricky.scene().tobytes()


def test_apng_frames_are_counted():
    assert check(tricky.apng_partial_frames()).frames == 3


@pytest.mark.parametrize("cut", [1, 3, 6])
def test_a_gif_frame_header_cut_short_is_damaged_not_a_crash(cut):
    # Found by the fuzz test: Pillow reads the next frame's descriptor while counting frames
    # and raises struct.error when fewer than its 9 bytes are left.
    descriptor = b",\0\0\0\0\x05\0\x05\0\0"
    refused = rejected(images.gif(frames=2)[:-1] + descriptor[:cut])
    assert refused.status == 422
    assert refused.message.startswith("the GIF file is damaged or incomplete (")


def png_with_text(kind: bytes, body: bytes, *, after_pixels: bool = False) -> bytes:
    """A small PNG with one more chunk right after IHDR, or right before IEND."""
    data, text = images.png((16, 16)), images.chunk(kind, body)
    at = len(data) - 12 if after_pixels else 8 + 25
    return data[:at] + text + data[at:]


BOMB = zlib.compress(b"\0" * (8 * 1024 * 1024), 9)


@pytest.mark.parametrize("after_pixels", [False, True], ids=["before-pixels", "after-pixels"])
@pytest.mark.parametrize(
    "kind, body",
    [(b"zTXt", b"Comment\0\0" + BOMB), (b"iTXt", b"Comment\0\1\0en\0\0" + BOMB)],
    ids=["zTXt", "iTXt"],
)
def test_compressed_text_that_unpacks_to_too_much_is_a_bomb(kind, body, after_pixels):
    error = rejected(png_with_text(kind, body, after_pixels=after_pixels))
    assert (error.status, error.code) == (422, "decompression_bomb")


def test_many_compressed_texts_unpacking_to_too_much_in_all_are_a_bomb():
    """Each under Pillow's limit per chunk (1 MiB), 65 MiB in all (the limit is 64 MiB)."""
    body = b"Comment\0\0" + zlib.compress(b"\0" * (1024 * 1024 - 1), 9)
    data = images.png((16, 16))
    data = data[:33] + images.chunk(b"zTXt", body) * 65 + data[33:]
    assert rejected(data).code == "decompression_bomb"


@pytest.mark.parametrize("after_pixels", [False, True], ids=["before-pixels", "after-pixels"])
def test_a_text_chunk_with_a_bad_crc_is_damaged(after_pixels):
    data = bytearray(png_with_text(b"tEXt", b"interlace\0hello", after_pixels=after_pixels))
    crc = data.index(b"tEXtinterlace\0hello") + len(b"tEXtinterlace\0hello")
    data[crc] ^= 0xFF
    error = rejected(bytes(data))
    assert (error.status, error.code) == (422, "damaged")
    assert "tEXt chunk has a bad CRC" in error.message


def test_a_text_chunk_cut_off_is_damaged():
    data = images.png((16, 16))
    error = rejected(data[:33] + images.chunk(b"tEXt", b"bbox\0hello")[:-6])
    assert (error.status, error.code) == (422, "damaged")


@pytest.mark.parametrize("key", [b"interlace", b"bbox", b"default_image", b"transparency"])
def test_a_text_keyword_is_not_image_information(key):
    info = check(png_with_text(b"tEXt", key + b"\0hello"))
    assert (info.format, info.width, info.height, info.frames) == ("png", 16, 16, 1)
