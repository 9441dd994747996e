"""A PNG's text chunks (tEXt, zTXt, iTXt), kept away from Pillow and checked on their own.

Pillow files each text keyword in `info` beside its own keys ("interlace", "bbox", "gamma"...),
which it reads back to decode and draw; browsers draw without the text. So Pillow is only
ever given the file without its text chunks, and those are checked here: CRC and size unpacked.
"""

import struct
import zlib
from collections.abc import Iterator

from PIL.PngImagePlugin import MAX_TEXT_CHUNK, MAX_TEXT_MEMORY

TEXT = (b"tEXt", b"zTXt", b"iTXt")


class TextChunkError(ValueError):
    """A text chunk that is cut off or whose CRC is wrong."""


class TextBomb(ValueError):
    """Compressed text that unpacks to more than Pillow would unpack (a decompression bomb)."""


def without_text(data: bytes) -> bytes:
    """The PNG `data` without its text chunks: what Pillow may read."""
    parts, pos = [data[:8]], 8
    for pos, kind, end in _chunks(data):
        if kind not in TEXT:
            parts.append(data[pos:end])
        pos = end
    parts.append(data[pos:])
    return b"".join(parts)


def check_text(data: bytes) -> None:
    """Raise TextChunkError or TextBomb for the PNG's text chunks (up to IEND); their keywords
    and words are not read. The limits are Pillow's: MAX_TEXT_CHUNK unpacked per chunk,
    MAX_TEXT_MEMORY in all."""
    unpacked = 0
    for pos, kind, end in _chunks(data):
        if kind not in TEXT:
            continue
        if end > len(data):
            raise TextChunkError(f"a {kind.decode()} chunk runs past the end of the file")
        body = data[pos + 8 : end - 4]
        if zlib.crc32(kind + body) != int.from_bytes(data[end - 4 : end], "big"):
            raise TextChunkError(f"a {kind.decode()} chunk has a bad CRC")
        unpacked += _unpacked_size(kind, body)
        if unpacked > MAX_TEXT_MEMORY:
            raise TextBomb("the text chunks unpack to too much data")


def _chunks(data: bytes) -> Iterator[tuple[int, bytes, int]]:
    """(start, type, end) of each chunk after the signature, up to and with IEND; the last
    may end past the file's end."""
    pos = 8
    while pos + 8 <= len(data):
        length, kind = struct.unpack_from(">I4s", data, pos)
        end = pos + 12 + length
        yield pos, kind, end
        if kind == b"IEND":
            return
        pos = end


def _unpacked_size(kind: bytes, body: bytes) -> int:
    _, _, rest = body.partition(b"\0")
    if kind == b"tEXt":
        return len(rest)
    if kind == b"zTXt":
        packed = rest[1:] if rest[:1] == b"\0" else b""
    else:  # iTXt: compression flag and method, language, translated keyword, text
        flag, method = rest[:1], rest[1:2]
        text = rest[2:].split(b"\0", 2)[-1]
        if flag == b"\0":
            return len(text)
        packed = text if method == b"\0" else b""
    return _bounded_inflate(packed)


def _bounded_inflate(packed: bytes) -> int:
    unpacker = zlib.decompressobj()
    try:
        size = len(unpacker.decompress(packed, MAX_TEXT_CHUNK))
    except zlib.error:
        return 0  # unreadable text: nothing is unpacked (Pillow reads it as empty)
    if unpacker.unconsumed_tail:
        raise TextBomb("a compressed text chunk unpacks to too much data")
    return size
