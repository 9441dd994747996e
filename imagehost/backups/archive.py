"""mongodump's archive format (`mongodump --archive [--gzip]`): a streaming writer and reader.

Pure Python and no MongoDB: what `mongorestore --archive` reads, and what `mongodump` writes.
"""

import gzip
import os
import uuid as uuid_module
import zlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, BinaryIO, NamedTuple

import bson
from bson.errors import InvalidBSON
from bson.int64 import Int64
from bson.json_util import CANONICAL_JSON_OPTIONS, dumps, loads

try:
    from fastcrc.crc64 import xz as _fast_crc64_xz
except ImportError:  # no wheel for this platform: the pure-Python table is slow but right
    _fast_crc64_xz = None

MAGIC = b"\x6d\xe2\x99\x81"
TERMINATOR = b"\xff\xff\xff\xff"
FORMAT_VERSION = "0.1"
# The server version a prelude claims when the server does not say its own.
SERVER_VERSION = "7.0.0"
MIN_DOC_SIZE = 5
MAX_DOC_SIZE = 16 * 1024 * 1024
GZIP_MAGIC = b"\x1f\x8b"

_MASK64 = (1 << 64) - 1
_NAMESPACE_HEADER_KEYS = ["db", "collection", "EOF", "CRC"]
_PLAIN_TYPES = ("", "collection")
# Enough to hand a GzipFile big chunks without holding more than a sliver of a collection.
_WRITE_BUFFER_SIZE = 256 * 1024


class ArchiveError(Exception):
    """The stream is not a well-formed mongodump archive."""


@dataclass(frozen=True)
class ArchiveHeader:
    version: str
    server_version: str
    tool_version: str
    concurrent_collections: int


@dataclass(frozen=True)
class CollectionInfo:
    """One collection as the archive's prelude announces it.

    `indexes` are index specs as PyMongo's `list_indexes()` gives them ("key" may also be a list
    of (field, direction) pairs, as `index_information()` gives it). `size` is the total bytes of
    the collection's BSON documents; mongorestore only shows it as progress.
    """

    db: str
    collection: str
    indexes: list[dict[str, Any]]
    size: int
    uuid: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    type: str = "collection"

    @property
    def namespace(self) -> str:
        return f"{self.db}.{self.collection}"


class ArchiveDocument(NamedTuple):
    db: str
    collection: str
    raw: bytes


type ArchiveItem = ArchiveHeader | CollectionInfo | ArchiveDocument


def _crc64_xz_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xC96C5795D7870F42 if crc & 1 else crc >> 1
        table.append(crc)
    return table


_CRC64_TABLE = _crc64_xz_table()


def crc64_xz_python(data: bytes, crc: int = 0) -> int:
    """CRC-64/XZ in pure Python; see `crc64_xz`."""
    crc ^= _MASK64
    table = _CRC64_TABLE
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ _MASK64


def crc64_xz(data: bytes, crc: int = 0) -> int:
    """CRC-64/XZ (Go's crc64.ECMA table) of `data`, continuing from the CRC of what came before.

    `crc64_xz(b, crc64_xz(a)) == crc64_xz(a + b)`; the CRC of nothing is 0.
    """
    if _fast_crc64_xz is None:
        return crc64_xz_python(data, crc)
    return _fast_crc64_xz(data, initial=crc)


def _as_int64(crc: int) -> Int64:
    return Int64(crc - (1 << 64) if crc >= 1 << 63 else crc)


def _check_raw_document(doc: bytes) -> None:
    size = len(doc)
    if not MIN_DOC_SIZE <= size <= MAX_DOC_SIZE:
        raise ValueError(f"a BSON document must be {MIN_DOC_SIZE} bytes to 16 MiB, got {size}")
    if int.from_bytes(doc[:4], "little") != size or doc[-1] != 0:
        raise ValueError("not a raw BSON document: its length prefix or final NUL is wrong")


def _index_key_value(value: Any) -> Any:
    # mongodump writes directions as int32; floats (1.0) and Int64 would round-trip as other types.
    if isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, int):
        return int(value)
    return value


def _index_spec(spec: Mapping[str, Any], namespace: str) -> dict[str, Any]:
    if "name" not in spec or "key" not in spec:
        raise ValueError(f"index of {namespace} needs a 'name' and a 'key': {spec!r}")
    key = spec["key"]
    pairs = key.items() if isinstance(key, Mapping) else key
    out = {
        "v": spec.get("v", 2),
        "key": {name: _index_key_value(value) for name, value in pairs},
        "name": spec["name"],
    }
    out.update((k, v) for k, v in spec.items() if k not in out)
    return out


def collection_metadata(info: CollectionInfo, uuid: str) -> str:
    """The `<collection>.metadata.json` text mongodump writes, in canonical Extended JSON v2."""
    metadata = {
        "options": dict(info.options),
        "indexes": [_index_spec(spec, info.namespace) for spec in info.indexes],
        "uuid": uuid,
        "collectionName": info.collection,
        "type": info.type,
    }
    return dumps(
        metadata, json_options=CANONICAL_JSON_OPTIONS, separators=(",", ":"), ensure_ascii=False
    )


class ArchiveWriter:
    """Writes an uncompressed archive to a binary file object; wrap it in a GzipFile for --gzip.

    Call `write_prelude` once, `write_segment` as often as needed (segments of different
    collections may interleave), then `close` to end every collection. Used as a context manager,
    an exception leaves the archive unfinished, so mongorestore refuses it rather than restoring
    part of a collection as if it were whole.
    """

    def __init__(
        self,
        out: BinaryIO,
        *,
        server_version: str = SERVER_VERSION,
        tool_version: str = "imagehost",
    ) -> None:
        self._out = out
        self._server_version = server_version
        self._tool_version = tool_version
        self._buffer = bytearray()
        # Namespace -> running CRC of its documents; None until the prelude is written.
        self._crcs: dict[tuple[str, str], int] | None = None
        self._closed = False

    def __enter__(self) -> "ArchiveWriter":
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self.close()

    def write_prelude(
        self, collections: Iterable[CollectionInfo], *, elsewhere: bool = False
    ) -> None:
        """Write the prelude announcing `collections`, once, before any segment.

        With `elsewhere` nothing is written: the caller puts the prelude in front of this
        writer's output itself (written later with another writer, once the sizes are known,
        as a gzip member of its own); segments and `close` check and end these collections.
        """
        if self._crcs is not None:
            raise ValueError("the prelude is already written")
        crcs: dict[tuple[str, str], int] = {}
        blocks = [
            MAGIC,
            bson.encode(
                {
                    "concurrent_collections": 1,
                    "version": FORMAT_VERSION,
                    "server_version": self._server_version,
                    "tool_version": self._tool_version,
                }
            ),
        ]
        for info in collections:
            if not info.db or not info.collection:
                raise ValueError(f"a collection needs a db and a name: {info!r}")
            if (info.db, info.collection) in crcs:
                raise ValueError(f"{info.namespace} is in the prelude twice")
            crcs[info.db, info.collection] = 0
            uuid = uuid_module.uuid4().hex if info.uuid is None else uuid_module.UUID(info.uuid).hex
            prelude_entry = {
                "db": info.db,
                "collection": info.collection,
                "metadata": collection_metadata(info, uuid),
                "size": info.size,
                "type": info.type,
            }
            blocks.append(bson.encode(prelude_entry))
        blocks.append(TERMINATOR)
        self._crcs = crcs
        if not elsewhere:
            self._write(b"".join(blocks))
            self._flush()

    def write_segment(self, db: str, collection: str, raw_docs: Iterable[bytes]) -> None:
        """Write one data segment of raw BSON documents; nothing at all if there are none."""
        if self._crcs is None:
            raise ValueError("write_prelude() comes before any segment")
        if self._closed:
            raise ValueError("the archive is closed")
        if (db, collection) not in self._crcs:
            raise ValueError(f"{db}.{collection} is not in the prelude")
        crc = self._crcs[db, collection]
        started = False
        for doc in raw_docs:
            _check_raw_document(doc)
            if not started:
                self._write(_namespace_header(db, collection, eof=False, crc=0))
                started = True
            self._write(doc)
            crc = crc64_xz(doc, crc)
        if started:
            self._write(TERMINATOR)
        self._crcs[db, collection] = crc
        self._flush()

    def close(self) -> None:
        """End every collection of the prelude with its CRC; the file object stays open."""
        if self._closed:
            return
        if self._crcs is None:
            raise ValueError("write_prelude() comes before close()")
        for (db, collection), crc in self._crcs.items():
            self._write(_namespace_header(db, collection, eof=True, crc=crc))
            self._write(TERMINATOR)
        self._flush()
        self._closed = True

    def _write(self, data: bytes) -> None:
        self._buffer += data
        if len(self._buffer) >= _WRITE_BUFFER_SIZE:
            self._flush()

    def _flush(self) -> None:
        if self._buffer:
            self._out.write(self._buffer)
            self._buffer.clear()


def _namespace_header(db: str, collection: str, *, eof: bool, crc: int) -> bytes:
    return bson.encode({"db": db, "collection": collection, "EOF": eof, "CRC": _as_int64(crc)})


def open_archive(source: str | os.PathLike[str] | BinaryIO) -> BinaryIO:
    """An uncompressed archive stream from a path or a binary file object, gzipped or not.

    Gzip is told by its magic bytes. A file object must be seekable or have `peek()` (as
    `open()`'s and `tarfile.extractfile()`'s do); it is not closed with the returned stream.
    """
    if isinstance(source, str | os.PathLike):
        with open(source, "rb") as probe:
            gzipped = probe.read(2) == GZIP_MAGIC
        return gzip.open(source, "rb") if gzipped else open(source, "rb")
    if hasattr(source, "peek"):
        gzipped = source.peek(2)[:2] == GZIP_MAGIC
    elif source.seekable():
        start = source.tell()
        gzipped = source.read(2) == GZIP_MAGIC
        source.seek(start)
    else:
        raise TypeError("open_archive() needs a path, a seekable file or one with peek()")
    return gzip.GzipFile(fileobj=source, mode="rb") if gzipped else source


def read_archive(stream: BinaryIO) -> Iterator[ArchiveItem]:
    """Read an uncompressed archive: yield its header, each CollectionInfo, then each document.

    Every rule of the format is checked and each collection's CRC is compared at its EOF block,
    so a mismatch is raised (as ArchiveError) after that collection's documents were yielded: a
    caller must treat the error as the whole archive being bad. Documents are checked for size
    and framing only; their BSON is the server's to validate.
    """
    reader = _BlockReader(stream)
    magic = reader.read_exact(4, "the magic number")
    if magic != MAGIC:
        hint = " (it is gzipped: open it with open_archive())" if magic[:2] == GZIP_MAGIC else ""
        raise ArchiveError(f"not a mongodump archive: bad magic number {magic.hex()}{hint}")

    header_doc = reader.read_document("the archive header")
    if header_doc is None:
        raise ArchiveError("the archive header is missing: the prelude starts with a terminator")
    header = _parse_header(_decode(header_doc, "the archive header"))
    yield header

    infos: dict[tuple[str, str], CollectionInfo] = {}
    while (entry := reader.read_document("the prelude")) is not None:
        info = _parse_collection_info(_decode(entry, "a prelude entry"))
        if (info.db, info.collection) in infos:
            raise ArchiveError(f"{info.namespace} is in the prelude twice")
        infos[info.db, info.collection] = info
        yield info

    yield from _read_data(reader, infos)


def _read_data(
    reader: "_BlockReader", infos: dict[tuple[str, str], CollectionInfo]
) -> Iterator[ArchiveDocument]:
    allowed = set(infos)
    for db, collection in list(infos):
        if infos[db, collection].type == "timeseries":
            # Before MongoDB 8.3 a time series collection's documents live in its buckets.
            allowed.add((db, f"system.buckets.{collection}"))
    crcs: dict[tuple[str, str], int] = {}
    ended: set[tuple[str, str]] = set()

    while True:
        first = reader.read_block_start()
        if first is None:
            break
        db, collection, eof, stored_crc = _parse_namespace_header(first)
        key = (db, collection)
        if key not in allowed:
            raise ArchiveError(f"data for {db}.{collection}, which the prelude does not list")
        if key in ended:
            raise ArchiveError(f"{db}.{collection} is reopened after its EOF block")
        crc = crcs.get(key, 0)
        if eof:
            if reader.read_document(f"the EOF block of {db}.{collection}") is not None:
                raise ArchiveError(f"the EOF block of {db}.{collection} holds documents")
            if stored_crc & _MASK64 != crc:
                raise ArchiveError(
                    f"CRC mismatch for {db}.{collection}: the archive says "
                    f"{stored_crc & _MASK64:#018x}, its documents give {crc:#018x}"
                )
            ended.add(key)
            continue
        if stored_crc != 0:
            raise ArchiveError(f"a data segment header of {db}.{collection} has a CRC")
        # An empty segment is allowed: mongodump writes one for an empty collection.
        while (doc := reader.read_document(f"a document of {db}.{collection}")) is not None:
            crc = crc64_xz(doc, crc)
            yield ArchiveDocument(db, collection, doc)
        crcs[key] = crc

    unended = {key for key, info in infos.items() if info.type in _PLAIN_TYPES} | set(crcs)
    unended -= ended
    if unended:
        names = ", ".join(sorted(f"{db}.{collection}" for db, collection in unended))
        raise ArchiveError(f"the archive ends before the EOF block of {names}")


class _BlockReader:
    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self.offset = 0

    def read_exact(self, size: int, what: str) -> bytes:
        data = self._read(size)
        # Raw and socket-like streams may return short reads before the real end.
        while len(data) < size:
            more = self._read(size - len(data))
            if not more:
                raise ArchiveError(
                    f"truncated archive: it ends inside {what} at byte {self.offset + len(data)}"
                )
            data += more
        self.offset += size
        return data

    def read_block_start(self) -> bytes | None:
        """The first document of the next block, or None at a clean end of the archive."""
        peek = self._read(1)
        if not peek:
            return None
        self.offset += 1
        length_bytes = peek + self.read_exact(3, "a block header's length")
        if length_bytes == TERMINATOR:
            raise ArchiveError(f"a block starts with a terminator at byte {self.offset - 4}")
        return self._read_body(length_bytes, "a block header")

    def read_document(self, what: str) -> bytes | None:
        """The next document, or None for the terminator that ends the block."""
        length_bytes = self.read_exact(4, what)
        if length_bytes == TERMINATOR:
            return None
        return self._read_body(length_bytes, what)

    def _read(self, size: int) -> bytes:
        try:
            return self._stream.read(size)
        except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
            raise ArchiveError(f"damaged gzip stream near byte {self.offset}: {exc}") from exc

    def _read_body(self, length_bytes: bytes, what: str) -> bytes:
        size = int.from_bytes(length_bytes, "little", signed=True)
        if not MIN_DOC_SIZE <= size <= MAX_DOC_SIZE:
            raise ArchiveError(
                f"{what} at byte {self.offset - 4} claims {size} bytes: "
                f"neither a BSON document ({MIN_DOC_SIZE} bytes to 16 MiB) nor a terminator"
            )
        doc = length_bytes + self.read_exact(size - 4, what)
        if doc[-1] != 0:
            raise ArchiveError(f"{what} ending at byte {self.offset} does not end with a NUL")
        return doc


def _decode(raw: bytes, what: str) -> dict[str, Any]:
    try:
        return bson.decode(raw)
    except (InvalidBSON, ValueError, TypeError) as exc:
        raise ArchiveError(f"{what} is not valid BSON: {exc}") from exc


def _field(doc: Mapping[str, Any], name: str, types: type | tuple[type, ...], what: str) -> Any:
    if name not in doc:
        raise ArchiveError(f"{what} has no {name!r}: {doc!r}")
    value = doc[name]
    if not isinstance(value, types) or (isinstance(value, bool) and types is not bool):
        raise ArchiveError(f"{what} has a {type(value).__name__} {name!r}: {doc!r}")
    return value


def _parse_header(doc: dict[str, Any]) -> ArchiveHeader:
    what = "the archive header"
    header = ArchiveHeader(
        version=_field(doc, "version", str, what),
        server_version=_field(doc, "server_version", str, what),
        tool_version=_field(doc, "tool_version", str, what),
        concurrent_collections=_field(doc, "concurrent_collections", int, what),
    )
    if header.version != FORMAT_VERSION:
        raise ArchiveError(f"unsupported archive format version {header.version!r}")
    return header


def _parse_collection_info(doc: dict[str, Any]) -> CollectionInfo:
    what = "a prelude entry"
    db = _field(doc, "db", str, what)
    collection = _field(doc, "collection", str, what)
    if not collection:
        raise ArchiveError(f"a prelude entry has no collection name: {doc!r}")
    namespace = f"{db}.{collection}"
    what = f"the prelude entry of {namespace}"
    text = _field(doc, "metadata", str, what)
    size = _field(doc, "size", int, what)
    kind = doc.get("type", "")
    if not isinstance(kind, str):
        raise ArchiveError(f"{what} has a {type(kind).__name__} 'type'")

    # An entry without metadata (mongodump's oplog, say) has no indexes or options to restore.
    metadata: Any = {}
    if text:
        try:
            metadata = loads(text)
        except (ValueError, TypeError, KeyError) as exc:
            raise ArchiveError(f"the metadata of {namespace} is not valid JSON: {exc}") from exc
    if not isinstance(metadata, dict):
        raise ArchiveError(f"the metadata of {namespace} is not a JSON object: {text!r}")
    indexes = metadata.get("indexes", [])
    options = metadata.get("options", {})
    uuid = metadata.get("uuid")
    if not isinstance(indexes, list) or not all(
        isinstance(index, dict) and isinstance(index.get("key"), dict) and "name" in index
        for index in indexes
    ):
        raise ArchiveError(f"the metadata of {namespace} has malformed indexes: {indexes!r}")
    if not isinstance(options, dict):
        raise ArchiveError(f"the metadata of {namespace} has malformed options: {options!r}")
    if uuid is not None and not isinstance(uuid, str):
        raise ArchiveError(f"the metadata of {namespace} has a malformed uuid: {uuid!r}")
    return CollectionInfo(
        db=db,
        collection=collection,
        indexes=indexes,
        size=int(size),
        uuid=uuid,
        options=options,
        type=kind or "collection",
    )


def _parse_namespace_header(raw: bytes) -> tuple[str, str, bool, int]:
    doc = _decode(raw, "a namespace header")
    if list(doc) != _NAMESPACE_HEADER_KEYS:
        raise ArchiveError(
            f"a namespace header must have exactly the keys {_NAMESPACE_HEADER_KEYS}: {doc!r}"
        )
    what = "a namespace header"
    db = _field(doc, "db", str, what)
    collection = _field(doc, "collection", str, what)
    eof = _field(doc, "EOF", bool, what)
    crc = _field(doc, "CRC", Int64, what)
    return db, collection, eof, int(crc)
