"""A zip archive written as it is read: each entry's local header, its bytes chunk by chunk,
then a data descriptor (sizes and CRC after the data), and the central directory at the end.

Nothing is built whole: the caller drains each chunk as it is written. Entries are stored,
not deflated (JPEG, PNG and GIF are compressed already). Python's zipfile writes the format
(ZIP64 where sizes or offsets need it); this only feeds it and drains it.
"""

import re
import unicodedata
import zipfile
from collections.abc import Iterator
from datetime import datetime

from ..storage import Readable

CHUNK = 256 * 1024
_UNSAFE = re.compile(r'[/\\:*?"<>|]')


class _Sink:
    """What zipfile writes to: it keeps the bytes until they are drained. No tell() or seek():
    zipfile then writes data descriptors instead of seeking back to fill in the sizes."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def write(self, data) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def drain(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        return data


def entry_name(index: int, original: str, stored: str) -> str:
    """`0001-cat.jpg`: the album's order, then the uploader's name (made safe, with the stored
    file's extension), or the stored name when there was none."""
    extension = "." + stored.rsplit(".", 1)[-1]
    name = "".join(c for c in original if unicodedata.category(c)[0] != "C")
    name = _UNSAFE.sub("_", name).strip(" .")[:200] or stored
    stem = name[: -len(extension)] if name.lower().endswith(extension) else name
    if extension == ".jpg" and stem.lower().endswith(".jpeg"):
        stem = stem[:-5]
    return f"{index:04d}-{stem}{extension}"


class ZipStream:
    """One archive. entry() and close() give its bytes; call them on one thread at a time."""

    def __init__(self, chunk: int = CHUNK) -> None:
        self._sink = _Sink()
        self._zip = zipfile.ZipFile(self._sink, "w", zipfile.ZIP_STORED, allowZip64=True)
        self._buffer = memoryview(bytearray(chunk))

    def entry(self, name: str, when: datetime, stream: Readable) -> Iterator[bytes]:
        """The bytes of one entry, as written: the header with the first chunk, the data
        descriptor with the last."""
        info = zipfile.ZipInfo(name, date_time=max(when.timetuple()[:6], (1980, 1, 1, 0, 0, 0)))
        info.compress_type = zipfile.ZIP_STORED
        info.file_size = stream.size()  # zipfile decides on ZIP64 from it
        info.external_attr = 0o644 << 16
        with self._zip.open(info, "w") as out:
            while count := stream.readinto(self._buffer):
                out.write(self._buffer[:count])
                yield self._sink.drain()
        yield self._sink.drain()

    def close(self) -> bytes:
        """The central directory (and ZIP64's end records when needed)."""
        self._zip.close()
        return self._sink.drain()
