"""Test images, made in memory with Pillow: accessor functions, no binary files committed.

Plain pictures for the web and end-to-end layers, detailed ones (`picture`, `halves`) for the
image checks, and images loaded with metadata (`*_with_metadata`) that stripping must remove.
"""

import io
import os
import struct
import zipfile
import zlib
from functools import cache

from PIL import Image, ImageCms, ImageDraw
from PIL.ExifTags import GPS, IFD, Base
from PIL.PngImagePlugin import PngInfo

# Strings planted in the metadata; none may survive stripping.
SECRETS = (
    b"SN-SECRET-1234",
    b"Jane Secret",
    b"Secret Street",
    b"xmp-secret",
    b"iptc-secret",
    b"<?php",
    b"PK\x03\x04",
)
XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:Description>xmp-secret</rdf:Description></x:xmpmeta>'
)
PHP = b"<?php system($_GET['c']); ?>"


def jpeg(image: Image.Image | tuple[int, int] = (64, 48), **save) -> bytes:
    """`image` as a JPEG of quality 90; a size instead stands for a plain red picture."""
    if not isinstance(image, Image.Image):
        image = Image.new("RGB", image, (200, 30, 60))
    return encode(image, "JPEG", **{"quality": 90, **save})


def png(image: Image.Image | tuple[int, int] = (64, 48), mode: str = "RGB", **save) -> bytes:
    """`image` as a PNG; a size instead stands for a plain blue picture in `mode` (RGB or
    RGBA, then half transparent)."""
    if not isinstance(image, Image.Image):
        color = (20, 120, 220, 128) if mode == "RGBA" else (20, 120, 220)
        image = Image.new(mode, image, color)
    return encode(image, "PNG", **save)


def gif(size=(40, 30), frames=1) -> bytes:
    images = [Image.new("RGB", size, (i * 60, 255 - i * 60, 90)) for i in range(frames)]
    out = io.BytesIO()
    images[0].save(out, "GIF", save_all=frames > 1, append_images=images[1:], duration=100)
    return out.getvalue()


def chunk(kind: bytes, body: bytes) -> bytes:
    """A PNG chunk: length, type, body, CRC."""
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def encode(image: Image.Image, fmt: str, **save) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **save)
    return out.getvalue()


def noisy_jpeg(target_bytes: int, width: int = 1400) -> bytes:
    """A JPEG of about `target_bytes` (random pixels barely compress)."""
    height = max(16, target_bytes // (width * 2))
    image = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))
    return encode(image, "JPEG", quality=95)


def padded_png(exact_bytes: int) -> bytes:
    """A valid PNG of exactly `exact_bytes`: a small image plus an ancillary chunk of padding."""
    base = png((8, 8))
    iend = base.rindex(b"IEND") - 4
    overhead = 12
    pad = exact_bytes - len(base) - overhead
    assert pad >= 0
    data = base[:iend] + chunk(b"prVt", b"x" * pad) + base[iend:]
    assert len(data) == exact_bytes
    return data


def multipart(fields: list[tuple[str, str | None, bytes]], boundary: str = "b0undary42"):
    """(body, content_type) for parts given as (name, filename or None, data)."""
    lines = []
    for name, filename, data in fields:
        disposition = f'form-data; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
        head = f"--{boundary}\r\nContent-Disposition: {disposition}\r\n"
        if filename is not None:
            head += "Content-Type: application/octet-stream\r\n"
        lines.append(head.encode() + b"\r\n" + data + b"\r\n")
    body = b"".join(lines) + f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def picture(size: tuple[int, int] = (64, 48), mode: str = "RGB") -> Image.Image:
    """A deterministic picture with detail everywhere, so any pixel change shows."""
    image = Image.linear_gradient("L").resize(size)
    bands = (image, image.rotate(90), image.transpose(Image.Transpose.FLIP_LEFT_RIGHT))
    rgb = Image.merge("RGB", bands)
    ImageDraw.Draw(rgb).ellipse((2, 2, size[0] // 2, size[1] // 2), fill=(200, 30, 90))
    return rgb.convert(mode)


def halves(size: tuple[int, int], mode: str = "RGB") -> Image.Image:
    """Left half red, right half blue: shows where a rotation or flip went."""
    image = Image.new("RGB", size, (0, 0, 255))
    image.paste((255, 0, 0), (0, 0, size[0] // 2, size[1]))
    return image.convert(mode)


@cache  # Pillow stamps each new profile with the time: one profile, so they all compare equal
def srgb_profile() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def secret_exif(orientation: int | None = 6) -> Image.Exif:
    exif = Image.Exif()
    if orientation is not None:
        exif[Base.Orientation] = orientation
    exif[Base.Make] = "Camera Maker"
    exif[Base.Artist] = "Jane Secret"
    exif.get_ifd(IFD.Exif)[Base.BodySerialNumber] = "SN-SECRET-1234"
    gps = exif.get_ifd(IFD.GPSInfo)
    gps[GPS.GPSLatitudeRef] = "N"
    gps[GPS.GPSLatitude] = (51.0, 30.0, 12.5)
    gps[GPS.GPSAreaInformation] = "Secret Street"
    return exif


def iptc_segment() -> bytes:
    """An APP13 Photoshop segment holding an IPTC by-line."""
    iptc = b"\x1c\x02\x50" + len(b"iptc-secret").to_bytes(2, "big") + b"iptc-secret"
    resource = b"8BIM\x04\x04\0\0" + len(iptc).to_bytes(4, "big") + iptc
    body = b"Photoshop 3.0\0" + resource
    return b"\xff\xed" + (len(body) + 2).to_bytes(2, "big") + body


def zip_payload() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("shell.php", PHP)
    return out.getvalue()


def jpeg_with_metadata(orientation: int | None = 6, icc: bytes | None = None, **save) -> bytes:
    """EXIF (GPS, serial, owner, orientation), XMP, IPTC, a PHP comment, ICC, a ZIP after EOI."""
    data = jpeg(
        picture(),
        exif=secret_exif(orientation),
        xmp=XMP,
        comment=PHP,
        icc_profile=icc or srgb_profile(),
        **save,
    )
    return data[:2] + iptc_segment() + data[2:] + zip_payload()


def png_with_metadata(image: Image.Image | None = None) -> bytes:
    """tEXt, zTXt, iTXt (XMP), eXIf (GPS, orientation 6), tIME, iCCP, bytes after IEND."""
    info = PngInfo()
    info.add_text("Author", "Jane Secret")
    info.add_text("Comment", "Secret Street", zip=True)
    info.add_itxt("XML:com.adobe.xmp", XMP.decode())
    info.add(b"tIME", b"\x07\xe8\x01\x02\x03\x04\x05")
    image = picture() if image is None else image
    data = png(image, pnginfo=info, exif=secret_exif(6), icc_profile=srgb_profile())
    return data + b"\0\0\0\0junk" + PHP


def animated_gif(**save) -> bytes:
    """Three different frames; pass save_all=False for a still."""
    first, *rest = [picture((32, 24)).rotate(angle).convert("P") for angle in (0, 90, 180)]
    out = io.BytesIO()
    first.save(out, "GIF", **{"save_all": True, "append_images": rest, **save})
    return out.getvalue()


def gif_application_extension(identifier: bytes, payload: bytes) -> bytes:
    """An application extension whose payload is stored raw, as XMP-in-GIF does it."""
    magic_trailer = b"\x01" + bytes(range(255, -1, -1)) + b"\0"
    return b"\x21\xff\x0b" + identifier + payload + magic_trailer


def animated_gif_with_metadata() -> bytes:
    """3 frames of 100/200/300 ms, looping, plus a comment, XMP, IPTC and bytes after the end."""
    frames = [halves((32, 24)), picture((32, 24)), halves((32, 24)).rotate(180)]
    first, *rest = [frame.convert("P") for frame in frames]
    out = io.BytesIO()
    first.save(
        out,
        "GIF",
        save_all=True,
        append_images=rest,
        duration=[100, 200, 300],
        loop=0,
        comment=b"Jane Secret",
    )
    data = out.getvalue()
    assert data.endswith(b";")
    extras = gif_application_extension(b"XMP DataXMP", XMP) + gif_application_extension(
        b"MGK8BIM0000", b"iptc-secret"
    )
    return data[:-1] + extras + b";" + zip_payload()


def png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """(type, body) of each chunk up to IEND."""
    chunks, pos = [], 8
    while pos < len(data):
        length = int.from_bytes(data[pos : pos + 4], "big")
        chunks.append((data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]))
        pos += 12 + length
        if chunks[-1][0] == b"IEND":
            break
    return chunks
