"""An independent mongodump archive reader, written from the format notes to check our writer.

It shares nothing with imagehost.backups.archive: its own BSON element walker, CRC-64 and rules.
"""

import gzip
import json
import struct
from dataclasses import dataclass, field

MAGIC = 0x8199E26D
TERMINATOR = 0xFFFFFFFF
ECMA_REFLECTED = 0xC96C5795D7870F42
ALL_ONES = 0xFFFFFFFFFFFFFFFF


class FormatError(Exception):
    pass


def crc64(data: bytes, crc: int = 0) -> int:
    """Bit by bit, as the polynomial definition reads: slow, and hard to get subtly wrong."""
    crc ^= ALL_ONES
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (ECMA_REFLECTED if crc & 1 else 0)
    return crc ^ ALL_ONES


def _cstring(buf: bytes, pos: int) -> tuple[str, int]:
    end = buf.index(b"\x00", pos)
    return buf[pos:end].decode("utf-8"), end + 1


def top_level_elements(doc: bytes) -> list[tuple[str, int, object]]:
    """(name, BSON type byte, value) of a document's top-level elements, in order.

    Scalars that the archive's own documents use are decoded; anything else is kept as raw bytes.
    """
    (length,) = struct.unpack_from("<i", doc, 0)
    if length != len(doc) or doc[-1] != 0:
        raise FormatError(f"bad BSON framing: length {length}, {len(doc)} bytes")
    pos, out = 4, []
    while doc[pos] != 0:
        kind = doc[pos]
        name, pos = _cstring(doc, pos + 1)
        if kind == 0x02:
            (n,) = struct.unpack_from("<i", doc, pos)
            value, pos = doc[pos + 4 : pos + 4 + n - 1].decode("utf-8"), pos + 4 + n
        elif kind == 0x08:
            if doc[pos] not in (0, 1):
                raise FormatError(f"bad boolean {doc[pos]} in {name!r}")
            value, pos = bool(doc[pos]), pos + 1
        elif kind == 0x10:
            (value,) = struct.unpack_from("<i", doc, pos)
            pos += 4
        elif kind == 0x12:
            (value,) = struct.unpack_from("<q", doc, pos)
            pos += 8
        elif kind == 0x01:
            (value,) = struct.unpack_from("<d", doc, pos)
            pos += 8
        elif kind in (0x03, 0x04):
            (n,) = struct.unpack_from("<i", doc, pos)
            value, pos = doc[pos : pos + n], pos + n
        else:
            raise FormatError(f"unexpected BSON type {kind:#x} for {name!r} in an archive document")
        out.append((name, kind, value))
    if pos != len(doc) - 1:
        raise FormatError("BSON document has bytes after its last element")
    return out


@dataclass
class ParsedArchive:
    header: dict[str, object]
    prelude: list[dict[str, object]]
    metadata: dict[str, dict]  # namespace -> the metadata JSON, as plain json.loads gives it
    blocks: list[tuple[str, bool, int]] = field(default_factory=list)  # (namespace, EOF, docs)
    documents: dict[str, list[bytes]] = field(default_factory=dict)
    crcs: dict[str, int] = field(default_factory=dict)  # namespace -> CRC from its EOF block


class _Cursor:
    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def at_end(self) -> bool:
        return self.pos == len(self.data)

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise FormatError(f"archive truncated at byte {len(self.data)}")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def uint32(self) -> int:
        return struct.unpack("<I", self.take(4))[0]

    def doc_or_terminator(self) -> bytes | None:
        start = self.pos
        word = self.uint32()
        if word == TERMINATOR:
            return None
        if not 5 <= word <= 16 * 1024 * 1024:
            raise FormatError(f"document size {word} at byte {start} is out of range")
        doc = self.data[start : start + 4] + self.take(word - 4)
        if doc[-1] != 0:
            raise FormatError(f"document at byte {start} does not end with NUL")
        return doc


def _fields(doc: bytes) -> dict[str, tuple[int, object]]:
    return {name: (kind, value) for name, kind, value in top_level_elements(doc)}


def parse_archive(data: bytes) -> ParsedArchive:
    """Parse a whole archive, gzipped or not, checking every rule of the notes (or FormatError)."""
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    cur = _Cursor(data)
    if cur.uint32() != MAGIC:
        raise FormatError("bad magic")

    header_doc = cur.doc_or_terminator()
    if header_doc is None:
        raise FormatError("no header")
    header = _fields(header_doc)
    if header.get("concurrent_collections", (None,))[0] != 0x10:
        raise FormatError("concurrent_collections must be an int32")
    for name in ("version", "server_version", "tool_version"):
        if header.get(name, (None,))[0] != 0x02:
            raise FormatError(f"header {name} must be a string")
    if header["version"][1] != "0.1":
        raise FormatError("header version must be 0.1")
    parsed = ParsedArchive(
        header={name: value for name, (_, value) in header.items()}, prelude=[], metadata={}
    )

    kinds: dict[str, str] = {}
    while (entry := cur.doc_or_terminator()) is not None:
        fields = _fields(entry)
        for name in ("db", "collection", "metadata"):
            if fields.get(name, (None,))[0] != 0x02:
                raise FormatError(f"prelude {name} must be a string")
        if fields.get("size", (None,))[0] not in (0x10, 0x12):
            raise FormatError("prelude size must be an int32 or int64")
        kind = fields.get("type", (0x02, ""))
        if kind[0] != 0x02 or kind[1] not in ("", "collection", "view", "timeseries"):
            raise FormatError(f"prelude type {kind!r}")
        ns = f"{fields['db'][1]}.{fields['collection'][1]}"
        if ns in kinds:
            raise FormatError(f"{ns} twice in the prelude")
        kinds[ns] = kind[1]
        try:
            metadata = json.loads(fields["metadata"][1])
        except json.JSONDecodeError as exc:
            raise FormatError(f"metadata of {ns} is not JSON: {exc}") from exc
        if not isinstance(metadata.get("indexes"), list):
            raise FormatError(f"metadata of {ns} has no indexes list")
        parsed.prelude.append({name: value for name, (_, value) in fields.items()})
        parsed.metadata[ns] = metadata

    running: dict[str, int] = {}
    closed: set[str] = set()
    while not cur.at_end():
        block_header = cur.doc_or_terminator()
        if block_header is None:
            raise FormatError("a block starts with a terminator")
        elements = top_level_elements(block_header)
        if [(name, kind) for name, kind, _ in elements] != [
            ("db", 0x02),
            ("collection", 0x02),
            ("EOF", 0x08),
            ("CRC", 0x12),
        ]:
            raise FormatError(f"namespace header elements {elements!r}")
        (_, _, db), (_, _, coll), (_, _, eof), (_, _, crc) = elements
        ns = f"{db}.{coll}"
        if ns not in kinds:
            raise FormatError(f"{ns} is not in the prelude")
        if ns in closed:
            raise FormatError(f"{ns} reopened")
        docs = []
        while (doc := cur.doc_or_terminator()) is not None:
            docs.append(doc)
        parsed.blocks.append((ns, eof, len(docs)))
        if eof:
            if docs:
                raise FormatError(f"EOF block of {ns} has documents")
            if crc & ALL_ONES != running.get(ns, 0):
                raise FormatError(f"CRC mismatch for {ns}")
            parsed.crcs[ns] = crc
            closed.add(ns)
        else:
            if crc != 0:
                raise FormatError(f"data segment of {ns} with CRC {crc}")
            for doc in docs:
                running[ns] = crc64(doc, running.get(ns, 0))
            parsed.documents.setdefault(ns, []).extend(docs)

    for ns, kind in kinds.items():
        if kind in ("", "collection") and ns not in closed:
            raise FormatError(f"no EOF block for {ns}")
    return parsed
