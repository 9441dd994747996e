"""Test images, made in memory with Pillow: accessor functions, no binary files committed."""

import io
import struct
import zlib

from PIL import Image


def jpeg(size=(64, 48), quality=90, **save) -> bytes:
    return encode(Image.new("RGB", size, (200, 30, 60)), "JPEG", quality=quality, **save)


def png(size=(64, 48), mode="RGB", **save) -> bytes:
    color = (20, 120, 220, 128) if mode == "RGBA" else (20, 120, 220)
    return encode(Image.new(mode, size, color), "PNG", **save)


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
    import os

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
