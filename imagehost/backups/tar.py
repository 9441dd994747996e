"""A lean tar writer for backups: POSIX ustar headers (pax records only when a field needs one),
each file read once into one reused buffer that is hashed and written from there.
"""

import hashlib
import os

from ..storage import Readable

BLOCK = 512
RECORD = 20 * BLOCK  # tar's default blocking: the file ends on a whole record, as tarfile does
BUFFER_SIZE = 1024 * 1024
# add_open_file writes the buffer out first when less than this is free: files up to this size
# always take a single read.
READ_ROOM = 256 * 1024

_NAME = 100
_OCTAL_SIZE = 8**11  # what the 12-byte size and mtime fields can hold
_ZEROS = bytes(RECORD)
# The ustar header after the name: mode, uid, gid, then size, mtime, checksum, and the rest.
_IDS = b"0000000\0" * 2
_MODE = {mode: b"%07o\0" % mode + _IDS for mode in (0, 0o644)}
# uname and gname empty, devmajor and devminor empty for a regular file, as tarfile writes them.
_TAIL = b"0" + bytes(100) + b"ustar\x0000" + bytes(64 + 16 + 167)
_PAX_TAIL = b"x" + _TAIL[1:]
_CHECKSUM_SPACES = sum(b" " * 8)
_TAIL_SUM = sum(_TAIL)
_PAX_TAIL_SUM = sum(_PAX_TAIL)


class FileChanged(OSError):
    """A file's length changed while it was being copied; what was written of it is undone."""


def _pad(size: int) -> int:
    return -size % BLOCK


def _pax_record(key: str, value: str) -> bytes:
    payload = f" {key}={value}\n".encode()
    length = len(payload) + 1
    while len(str(length)) + len(payload) != length:
        length = len(str(length)) + len(payload)
    return str(length).encode() + payload


def ustar_header(
    name: bytes, size: int, mtime: int, mode: int = 0o644, *, pax: bool = False
) -> bytes:
    """One 512-byte ustar header; `name` (at most 100 bytes), `size` and `mtime` must fit it."""
    fixed = _MODE.get(mode) or b"%07o\0" % mode + _IDS
    numbers = b"%011o\0%011o\0" % (size, mtime)
    tail, tail_sum = (_PAX_TAIL, _PAX_TAIL_SUM) if pax else (_TAIL, _TAIL_SUM)
    checksum = sum(name) + sum(fixed) + sum(numbers) + _CHECKSUM_SPACES + tail_sum
    return b"".join((name, bytes(_NAME - len(name)), fixed, numbers, b"%06o\0 " % checksum, tail))


def member_header(name: str, size: int, mtime: int, mode: int = 0o644) -> bytes:
    """The header blocks of one member: a pax header first when the name, size or mtime does
    not fit ustar's fields (a long or non-ASCII name, 8 GiB or more, a time before 1970)."""
    encoded = name.encode("ascii") if name.isascii() else None
    if (
        encoded is not None
        and len(encoded) <= _NAME
        and 0 <= size < _OCTAL_SIZE
        and 0 <= mtime < _OCTAL_SIZE
    ):
        return ustar_header(encoded, size, mtime, mode)
    records = []
    if encoded is None or len(encoded) > _NAME:
        records.append(_pax_record("path", name))
    if not 0 <= size < _OCTAL_SIZE:
        records.append(_pax_record("size", str(size)))
    if not 0 <= mtime < _OCTAL_SIZE:
        records.append(_pax_record("mtime", str(mtime)))
    data = b"".join(records)
    short = name.encode("ascii", "replace")[:_NAME]
    # The ustar fields that cannot hold the value get 0; readers take the pax record.
    header = ustar_header(b"././@PaxHeader", len(data), 0, 0, pax=True)
    fields = ustar_header(
        short,
        size if 0 <= size < _OCTAL_SIZE else 0,
        mtime if 0 <= mtime < _OCTAL_SIZE else 0,
        mode,
    )
    return header + data + bytes(_pad(len(data))) + fields


class TarWriter:
    """Writes a tar to a file descriptor opened for writing at its start.

    Members go through one fixed buffer: memory stays flat whatever the number or size of the
    files. `mark()` and `undo(mark)` take back what was added since the mark (the descriptor
    must then be a regular file, which is truncated when the buffer was already written out).
    """

    def __init__(self, fd: int, buffer_size: int = BUFFER_SIZE) -> None:
        self.fd = fd
        self._buffer = bytearray(buffer_size)
        self._view = memoryview(self._buffer)
        self._used = 0
        self._written = 0  # bytes of the tar already written to fd
        self._closed = False

    def mark(self) -> int:
        """The tar's length so far."""
        return self._written + self._used

    def undo(self, mark: int) -> None:
        """Drop every member added after `mark`."""
        if mark >= self._written:
            self._used = mark - self._written
            return
        os.ftruncate(self.fd, mark)
        os.lseek(self.fd, mark, os.SEEK_SET)
        self._written, self._used = mark, 0

    def add_file(
        self, name: str, stream: Readable, size: int, mtime: int, mode: int = 0o644
    ) -> str:
        """Add `size` bytes read from `stream`; returns their sha256.

        FileChanged, with the member undone, when the stream holds fewer or more bytes than
        `size` (the file was truncated or written to during the copy).
        """
        mark = self.mark()
        header = member_header(name, size, mtime, mode)
        end = self._used + len(header) + size + 1
        if end + BLOCK > len(self._buffer):
            self._flush()
            end = len(header) + size + 1
            if end + BLOCK > len(self._buffer):
                return self._add_large(mark, header, name, stream, size)
        start = self._used + len(header)
        self._buffer[self._used : start] = header
        # One read of one byte more than expected: a short count or the extra byte tells the
        # file changed, without another call.
        got = stream.readinto(self._view[start:end])
        if got != size:
            self.undo(mark)
            raise FileChanged(f"{name}: {size} bytes expected, the file holds {got}")
        return self._seal(start, size)

    def add_open_file(
        self, name: str, stream: Readable, mtime: int, mode: int = 0o644
    ) -> tuple[int, str]:
        """Add an open file from where `stream` stands to its end; returns the length added and
        its sha256.

        A file that fits the free part of the buffer takes one read and no size: the header is
        written after the body, with the length read, so a file that changed before that read
        goes in as it was read. A longer file is added by `add_file` (its size asked for, the
        rest read, FileChanged if its length changes).
        """
        head = b""
        if name.isascii() and len(name) <= _NAME and 0 <= mtime < _OCTAL_SIZE:
            if len(self._buffer) - self._used < READ_ROOM:
                self._flush()
            start = self._used + BLOCK
            limit = len(self._buffer) - BLOCK
            got = stream.readinto(self._view[start:limit])
            if start + got < limit:
                self._buffer[self._used : start] = ustar_header(name.encode(), got, mtime, mode)
                return got, self._seal(start, got)
            # Kept aside rather than read again: a stream may not seek back (object storage).
            head = bytes(self._view[start : start + got])
        size = stream.size()
        return size, self.add_file(name, _Resumed(head, stream), size, mtime, mode)

    def _seal(self, start: int, size: int) -> str:
        """End a member whose `size` body bytes were read into the buffer at `start`: pad it
        to a whole block and take it in; returns the body's sha256."""
        end = start + size
        padded = end + _pad(size)
        self._buffer[end:padded] = _ZEROS[: padded - end]
        self._used = padded
        return hashlib.sha256(self._view[start:end]).hexdigest()

    def _add_large(self, mark: int, header: bytes, name: str, stream: Readable, size: int) -> str:
        self._put(header)
        sha256 = hashlib.sha256()
        left = size
        while left:
            if self._used == len(self._buffer):
                self._flush()
            room = self._view[self._used : self._used + min(left, len(self._buffer) - self._used)]
            got = stream.readinto(room)
            if not got:
                self.undo(mark)
                raise FileChanged(f"{name}: {size} bytes expected, the file holds {size - left}")
            sha256.update(room[:got])
            self._used += got
            left -= got
        if stream.readinto(bytearray(1)):
            self.undo(mark)
            raise FileChanged(f"{name}: {size} bytes expected, the file holds more")
        self._put(_ZEROS[: _pad(size)])
        return sha256.hexdigest()

    def close(self) -> None:
        """End the tar (two zero blocks, then zeros to a whole record) and write it all out."""
        if self._closed:
            return
        end = self.mark() + 2 * BLOCK
        self._put(_ZEROS[: 2 * BLOCK + -end % RECORD])
        self._flush()
        self._closed = True

    def _put(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            room = len(self._buffer) - self._used
            if not room:
                self._flush()
                continue
            chunk = view[:room]
            self._buffer[self._used : self._used + len(chunk)] = chunk
            self._used += len(chunk)
            view = view[len(chunk) :]

    def _flush(self) -> None:
        view = self._view[: self._used]
        while view:
            view = view[os.write(self.fd, view) :]
        self._written += self._used
        self._used = 0


class _Resumed:
    """A stream whose first bytes were already read (into `head`)."""

    def __init__(self, head: bytes, stream: Readable) -> None:
        self.head = memoryview(head)
        self.stream = stream

    def readinto(self, buffer: memoryview, /) -> int:
        view = memoryview(buffer)
        taken = min(len(self.head), len(view))
        view[:taken] = self.head[:taken]
        self.head = self.head[taken:]
        if taken < len(view):
            taken += self.stream.readinto(view[taken:])
        return taken

    def size(self) -> int:
        return self.stream.size()
