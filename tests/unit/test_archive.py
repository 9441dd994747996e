import gzip
import io
import os
import tarfile
import tracemalloc
from dataclasses import replace
from pathlib import Path

import bson
import pytest
from bson.int64 import Int64
from bson.objectid import ObjectId

from imagehost.backups import archive
from imagehost.backups.archive import (
    ArchiveDocument,
    ArchiveError,
    ArchiveHeader,
    ArchiveWriter,
    CollectionInfo,
    crc64_xz,
    crc64_xz_python,
    open_archive,
    read_archive,
)
from tests.backups import MONGODUMP
from tests.unit import mongodump_reader

CHECK_VALUE = 0x995DC9BBDF1939FA


def mongodump_file(name: str) -> Path:
    return MONGODUMP / name


def read_all(stream) -> tuple[ArchiveHeader, list[CollectionInfo], list[ArchiveDocument]]:
    header, infos, docs = None, [], []
    for item in read_archive(stream):
        match item:
            case ArchiveHeader():
                header = item
            case CollectionInfo():
                infos.append(item)
            case ArchiveDocument():
                docs.append(item)
    return header, infos, docs


def read_bytes(data: bytes):
    return read_all(io.BytesIO(data))


# --- CRC-64/XZ -------------------------------------------------------------------------------


def test_crc_check_value_in_every_implementation():
    assert crc64_xz(b"123456789") == CHECK_VALUE
    assert crc64_xz_python(b"123456789") == CHECK_VALUE
    assert mongodump_reader.crc64(b"123456789") == CHECK_VALUE


def test_crc_continues_across_pieces_and_the_implementations_agree():
    data = os.urandom(5000)
    whole = crc64_xz(data)
    assert crc64_xz(data[1234:], crc64_xz(data[:1234])) == whole
    assert crc64_xz_python(data[1234:], crc64_xz_python(data[:1234])) == whole
    assert crc64_xz(b"") == 0


def test_the_pinned_native_crc_is_installed():
    # Without it archives still come out right, but a backup's CRC runs ~100x slower.
    assert archive._fast_crc64_xz is not None


# --- real archives made by mongodump ---------------------------------------------------------


@pytest.mark.parametrize("name", ["test.bar.archive", "test.bar.archive.gz"])
def test_reads_real_mongodump_archive(name):
    with open_archive(mongodump_file(name)) as stream:
        header, infos, docs = read_all(stream)

    assert header.version == "0.1"
    assert header.server_version == "3.4.3"
    indexes = {info.namespace: [index["name"] for index in info.indexes] for info in infos}
    assert indexes == {
        "test.bar": ["_id_"],
        "admin.system.version": ["_id_", "incompatible_with_version_32"],
    }
    assert sorted(f"{doc.db}.{doc.collection}" for doc in docs) == [
        "admin.system.version",
        "test.bar",
    ]
    bar = next(bson.decode(doc.raw) for doc in docs if doc.collection == "bar")
    assert bar["foo"] == "bar" and isinstance(bar["_id"], ObjectId)


def test_refuses_real_archive_with_bad_metadata_json():
    with open_archive(mongodump_file("bad-format.archive")) as stream:
        with pytest.raises(ArchiveError, match=r"metadata of test\.ixtest is not valid JSON"):
            read_all(stream)


def test_gzipped_bytes_given_to_read_archive_are_refused_with_a_hint():
    with pytest.raises(ArchiveError, match="gzipped"):
        read_bytes(mongodump_file("test.bar.archive.gz").read_bytes())


def test_open_archive_takes_a_tar_member(tmp_path):
    tar_path = tmp_path / "backup.tar"
    with tarfile.open(tar_path, "w") as tar:
        tar.add(mongodump_file("test.bar.archive.gz"), arcname="mongodump.archive.gz")
    with tarfile.open(tar_path) as tar, tar.extractfile("mongodump.archive.gz") as member:
        _, infos, docs = read_all(open_archive(member))
    assert len(infos) == 2 and len(docs) == 2


@pytest.mark.parametrize("name", ["test.bar.archive", "test.bar.archive.gz"])
def test_independent_reader_accepts_real_archives(name):
    parsed = mongodump_reader.parse_archive(mongodump_file(name).read_bytes())
    assert parsed.header["server_version"] == "3.4.3"
    assert set(parsed.crcs) == {"test.bar", "admin.system.version"}
    assert [len(parsed.documents[ns]) for ns in sorted(parsed.documents)] == [1, 1]


def test_independent_reader_refuses_bad_format():
    with pytest.raises(mongodump_reader.FormatError, match="not JSON"):
        mongodump_reader.parse_archive(mongodump_file("bad-format.archive").read_bytes())


# --- writing ---------------------------------------------------------------------------------

IMAGES = CollectionInfo(
    db="imagehost",
    collection="images",
    indexes=[
        {"v": 2, "key": {"_id": 1}, "name": "_id_"},
        {"v": 2, "key": {"owner": 1, "created": -1.0}, "name": "owner_1_created_-1"},
        {"key": [("sha256", Int64(1))], "name": "sha256_1", "unique": True},
    ],
    size=0,
    uuid="0123456789abcdef0123456789abcdef",
)
USERS = CollectionInfo(
    db="imagehost",
    collection="users",
    indexes=[{"v": 2, "key": {"_id": 1}, "name": "_id_"}],
    size=0,
)
EMPTY = CollectionInfo(db="imagehost", collection="sessions", indexes=[], size=0)


def image_docs(start: int, count: int) -> list[bytes]:
    return [
        bson.encode({"_id": ObjectId(), "n": n, "owner": "ann", "sha256": f"{n:064x}"})
        for n in range(start, start + count)
    ]


def user_docs(count: int) -> list[bytes]:
    return [bson.encode({"_id": f"user{n}", "name": "é" * n}) for n in range(count)]


def write_sample(out) -> dict[str, list[bytes]]:
    """Write the sample archive (interleaved segments, one empty collection) and return its docs."""
    images, users = image_docs(0, 30), user_docs(7)
    with ArchiveWriter(out, server_version="7.0.14") as writer:
        writer.write_prelude([IMAGES, USERS, EMPTY])
        writer.write_segment("imagehost", "images", iter(images[:10]))
        writer.write_segment("imagehost", "users", users[:3])
        writer.write_segment("imagehost", "sessions", [])
        writer.write_segment("imagehost", "images", (doc for doc in images[10:]))
        writer.write_segment("imagehost", "users", users[3:])
    return {"imagehost.images": images, "imagehost.users": users, "imagehost.sessions": []}


def sample_archive() -> tuple[bytes, dict[str, list[bytes]]]:
    out = io.BytesIO()
    docs = write_sample(out)
    return out.getvalue(), docs


def test_a_prelude_written_elsewhere_makes_the_same_archive_as_two_gzip_members():
    images, users = image_docs(0, 30), user_docs(7)
    collections = [IMAGES, replace(USERS, uuid="f" * 32)]  # the same prelude bytes each time
    segments = io.BytesIO()
    with gzip.GzipFile(fileobj=segments, mode="wb", mtime=0) as zipped:
        writer = ArchiveWriter(zipped)
        writer.write_prelude(collections, elsewhere=True)
        writer.write_segment("imagehost", "images", images[:10])
        writer.write_segment("imagehost", "users", users)
        writer.write_segment("imagehost", "images", images[10:])
        with pytest.raises(ValueError, match="not in the prelude"):
            writer.write_segment("imagehost", "sessions", [])
        writer.close()
    prelude = io.BytesIO()
    with gzip.GzipFile(fileobj=prelude, mode="wb", mtime=0) as zipped:
        ArchiveWriter(zipped, server_version="7.0.14").write_prelude(collections)

    data = prelude.getvalue() + segments.getvalue()
    in_one = io.BytesIO()
    with ArchiveWriter(in_one, server_version="7.0.14") as writer:
        writer.write_prelude(collections)
        writer.write_segment("imagehost", "images", images[:10])
        writer.write_segment("imagehost", "users", users)
        writer.write_segment("imagehost", "images", images[10:])
    assert gzip.decompress(data) == in_one.getvalue()
    _, infos, docs = read_all(open_archive(io.BytesIO(data)))
    assert [info.namespace for info in infos] == ["imagehost.images", "imagehost.users"]
    assert [doc.raw for doc in docs] == images[:10] + users + images[10:]
    parsed = mongodump_reader.parse_archive(data)  # checks every CRC
    assert parsed.documents["imagehost.images"] == images


def test_round_trip_through_gzip(tmp_path):
    path = tmp_path / "mongodump.archive.gz"
    with gzip.open(path, "wb") as out:
        written = write_sample(out)

    with open_archive(path) as stream:
        header, infos, docs = read_all(stream)

    assert header == ArchiveHeader("0.1", "7.0.14", "imagehost", 1)
    assert [info.namespace for info in infos] == list(written)
    read_back: dict[str, list[bytes]] = {ns: [] for ns in written}
    for doc in docs:
        read_back[f"{doc.db}.{doc.collection}"].append(doc.raw)
    assert read_back == written
    images = infos[0]
    assert images.uuid == IMAGES.uuid
    assert images.indexes == [
        {"v": 2, "key": {"_id": 1}, "name": "_id_"},
        {"v": 2, "key": {"owner": 1, "created": -1}, "name": "owner_1_created_-1"},
        {"v": 2, "key": {"sha256": 1}, "name": "sha256_1", "unique": True},
    ]
    assert type(images.indexes[1]["key"]["created"]) is int
    assert infos[2].indexes == [] and infos[2].options == {} and infos[2].type == "collection"
    assert len(infos[1].uuid) == 32  # generated


def test_independent_reader_checks_what_the_writer_writes():
    data, written = sample_archive()
    parsed = mongodump_reader.parse_archive(gzip.compress(data))

    assert parsed.header == {
        "concurrent_collections": 1,
        "version": "0.1",
        "server_version": "7.0.14",
        "tool_version": "imagehost",
    }
    assert parsed.blocks == [
        ("imagehost.images", False, 10),
        ("imagehost.users", False, 3),
        ("imagehost.images", False, 20),
        ("imagehost.users", False, 4),
        ("imagehost.images", True, 0),
        ("imagehost.users", True, 0),
        ("imagehost.sessions", True, 0),
    ]
    assert parsed.documents == {ns: docs for ns, docs in written.items() if docs}
    assert parsed.crcs["imagehost.sessions"] == 0
    images_crc = mongodump_reader.crc64(b"".join(written["imagehost.images"]))
    assert parsed.crcs["imagehost.images"] & 0xFFFFFFFFFFFFFFFF == images_crc
    assert [entry["type"] for entry in parsed.prelude] == ["collection"] * 3


def test_metadata_is_canonical_extended_json_like_mongodump_writes():
    data, _ = sample_archive()
    parsed = mongodump_reader.parse_archive(data)
    images = parsed.metadata["imagehost.images"]

    assert images == {
        "options": {},
        "indexes": [
            {"v": {"$numberInt": "2"}, "key": {"_id": {"$numberInt": "1"}}, "name": "_id_"},
            {
                "v": {"$numberInt": "2"},
                "key": {"owner": {"$numberInt": "1"}, "created": {"$numberInt": "-1"}},
                "name": "owner_1_created_-1",
            },
            {
                "v": {"$numberInt": "2"},
                "key": {"sha256": {"$numberInt": "1"}},
                "name": "sha256_1",
                "unique": True,
            },
        ],
        "uuid": "0123456789abcdef0123456789abcdef",
        "collectionName": "images",
        "type": "collection",
    }
    assert parsed.metadata["imagehost.sessions"]["indexes"] == []


def test_prelude_size_is_written_as_given():
    out = io.BytesIO()
    with ArchiveWriter(out) as writer:
        writer.write_prelude(
            [CollectionInfo("d", "small", [], 12), CollectionInfo("d", "big", [], 1 << 40)]
        )
    parsed = mongodump_reader.parse_archive(out.getvalue())
    assert [entry["size"] for entry in parsed.prelude] == [12, 1 << 40]


def test_an_exception_inside_the_writer_leaves_the_archive_unfinished():
    out = io.BytesIO()
    with pytest.raises(RuntimeError):
        with ArchiveWriter(out) as writer:
            writer.write_prelude([USERS])
            writer.write_segment("imagehost", "users", user_docs(2))
            raise RuntimeError("the database went away")
    with pytest.raises(ArchiveError, match="ends before the EOF block of imagehost.users"):
        read_bytes(out.getvalue())


def test_writer_refuses_misuse():
    writer = ArchiveWriter(io.BytesIO())
    with pytest.raises(ValueError, match="write_prelude"):
        writer.write_segment("imagehost", "users", user_docs(1))
    with pytest.raises(ValueError, match="twice"):
        writer.write_prelude([USERS, USERS])
    writer.write_prelude([USERS])
    with pytest.raises(ValueError, match="already written"):
        writer.write_prelude([USERS])
    with pytest.raises(ValueError, match="not in the prelude"):
        writer.write_segment("imagehost", "images", image_docs(0, 1))
    with pytest.raises(ValueError, match="length prefix"):
        writer.write_segment("imagehost", "users", [bson.encode({"a": 1}) + b"\x00"])
    with pytest.raises(ValueError, match="5 bytes to 16 MiB"):
        writer.write_segment("imagehost", "users", [b"\x04\x00\x00\x00"])
    writer.close()
    with pytest.raises(ValueError, match="closed"):
        writer.write_segment("imagehost", "users", user_docs(1))


def test_writer_refuses_an_index_without_a_name():
    with pytest.raises(ValueError, match="needs a 'name'"):
        ArchiveWriter(io.BytesIO()).write_prelude(
            [CollectionInfo("d", "c", [{"key": {"a": 1}}], 0)]
        )


# --- damaged archives ------------------------------------------------------------------------


def test_one_flipped_byte_in_a_document_is_a_crc_mismatch():
    data, written = sample_archive()
    doc = written["imagehost.users"][5]
    at = data.index(doc) + doc.index(b"name") + 10  # inside the string value
    damaged = data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]

    with pytest.raises(ArchiveError, match="CRC mismatch for imagehost.users"):
        read_bytes(damaged)
    with pytest.raises(mongodump_reader.FormatError, match="CRC mismatch"):
        mongodump_reader.parse_archive(damaged)


def test_every_truncation_is_refused():
    data, _ = sample_archive()
    for end in range(len(data)):
        with pytest.raises(ArchiveError):
            read_bytes(data[:end])


def test_truncated_gzip_is_refused(tmp_path):
    data, _ = sample_archive()
    path = tmp_path / "cut.archive.gz"
    path.write_bytes(gzip.compress(data)[:-40])
    with open_archive(path) as stream, pytest.raises(ArchiveError):
        read_all(stream)


# Archives assembled by hand, to break one rule at a time.
HEADER = bson.encode(
    {"concurrent_collections": 1, "version": "0.1", "server_version": "7.0.0", "tool_version": "t"}
)
TERM = b"\xff\xff\xff\xff"
DOC = bson.encode({"_id": 1})


def prelude(*collections: str, header: bytes = HEADER) -> bytes:
    entries = [
        bson.encode(
            {"db": "d", "collection": c, "metadata": '{"indexes":[]}', "size": 0, "type": ""}
        )
        for c in collections
    ]
    return b"\x6d\xe2\x99\x81" + header + b"".join(entries) + TERM


def ns_header(collection: str, eof: bool = False, crc: int = 0, **extra) -> bytes:
    head = {"db": "d", "collection": collection, "EOF": eof, "CRC": Int64(crc)} | extra
    return bson.encode(head)


def eof_block(collection: str, *docs: bytes) -> bytes:
    crc = mongodump_reader.crc64(b"".join(docs))
    return ns_header(collection, True, crc - (1 << 64) if crc >> 63 else crc) + TERM


def test_hand_made_archive_is_accepted():
    data = prelude("c") + ns_header("c") + DOC + DOC + TERM + eof_block("c", DOC, DOC)
    _, _, docs = read_bytes(data)
    assert [doc.raw for doc in docs] == [DOC, DOC]
    mongodump_reader.parse_archive(data)


def test_empty_data_segment_is_accepted_as_mongodump_writes_it():
    data = prelude("c") + ns_header("c") + TERM + eof_block("c")
    _, _, docs = read_bytes(data)
    assert docs == []


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x00\x00\x00\x00" + HEADER + TERM, "bad magic"),
        (b"", "truncated"),
        (b"\x6d\xe2\x99\x81" + TERM, "header is missing"),
        (
            prelude("c", header=bson.encode({"version": "0.1"})),
            "no 'server_version'",
        ),
        (
            prelude("c", header=HEADER.replace(b"0.1", b"9.9")),
            "unsupported archive format version",
        ),
        (prelude("c", "c") + eof_block("c"), r"d\.c is in the prelude twice"),
        (prelude("c") + ns_header("c") + b"\x04\x00\x00\x00" + TERM, "claims 4 bytes"),
        (
            prelude("c") + ns_header("c") + (16 * 1024 * 1024 + 1).to_bytes(4, "little"),
            "claims 16777217 bytes",
        ),
        (prelude("c") + ns_header("c") + DOC[:-1] + b"\x01" + TERM, "does not end with a NUL"),
        (prelude("c") + TERM + eof_block("c"), "starts with a terminator"),
        (prelude("c") + eof_block("c") + ns_header("c") + DOC + TERM, "reopened"),
        (
            prelude("c") + ns_header("c") + DOC + TERM + eof_block("c", DOC) + eof_block("c", DOC),
            "reopened",
        ),
        (prelude("c") + ns_header("c") + DOC + TERM, r"ends before the EOF block of d\.c"),
        (prelude("c", "e") + eof_block("c"), r"ends before the EOF block of d\.e"),
        (prelude("c") + ns_header("x") + DOC + TERM + eof_block("c"), "does not list"),
        (prelude("c") + ns_header("c", True) + DOC + TERM, "EOF block of d.c holds documents"),
        (prelude("c") + ns_header("c", False, 7) + DOC + TERM + eof_block("c", DOC), "has a CRC"),
        (prelude("c") + ns_header("c", True, 5) + TERM, "CRC mismatch"),
        (prelude("c") + ns_header("c", extra=1) + DOC + TERM + eof_block("c", DOC), "exactly"),
        (
            prelude("c")
            + bson.encode({"collection": "c", "db": "d", "EOF": True, "CRC": Int64(0)})
            + TERM,
            "exactly the keys",
        ),
        (
            prelude("c")
            + bson.encode({"db": "d", "collection": "c", "EOF": True, "CRC": 0})
            + TERM,
            "int 'CRC'",
        ),
        (
            b"\x6d\xe2\x99\x81"
            + HEADER
            + bson.encode({"db": "d", "collection": "c", "metadata": "[]", "size": 0})
            + TERM,
            "not a JSON object",
        ),
        (
            b"\x6d\xe2\x99\x81"
            + HEADER
            + bson.encode({"db": "d", "collection": "c", "metadata": '{"indexes":null}', "size": 0})
            + TERM,
            "malformed indexes",
        ),
        (
            b"\x6d\xe2\x99\x81"
            + HEADER
            + bson.encode({"db": "d", "collection": "c", "metadata": "{}", "size": "0"})
            + TERM,
            "str 'size'",
        ),
    ],
)
def test_broken_rule_is_refused(data, message):
    with pytest.raises(ArchiveError, match=message):
        read_bytes(data)


# --- streaming -------------------------------------------------------------------------------


class Discard:
    """A sink that keeps nothing, so only the writer's own memory is measured."""

    def __init__(self) -> None:
        self.size = 0

    def write(self, data) -> int:
        self.size += len(data)
        return len(data)


def many_docs(count: int):
    for n in range(count):
        yield bson.encode({"_id": n, "path": f"/images/{n:08d}.webp", "tags": ["a", "b", "c"]})


def test_writing_100000_documents_keeps_memory_flat():
    sink = Discard()
    tracemalloc.start()
    try:
        writer = ArchiveWriter(sink)
        writer.write_prelude([CollectionInfo("d", "images", [], 0)])
        writer.write_segment("d", "images", many_docs(100_000))
        writer.close()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert sink.size > 6_000_000  # the documents alone
    assert peak < 1_500_000


def test_reading_100000_documents_keeps_memory_flat(tmp_path):
    path = tmp_path / "big.archive.gz"
    with gzip.open(path, "wb") as out, ArchiveWriter(out) as writer:
        writer.write_prelude([CollectionInfo("d", "images", [], 0)])
        writer.write_segment("d", "images", many_docs(100_000))

    count = 0
    tracemalloc.start()
    try:
        with open_archive(path) as stream:
            for item in read_archive(stream):
                count += isinstance(item, ArchiveDocument)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 100_000
    assert peak < 1_500_000
