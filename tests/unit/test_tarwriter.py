"""The backup's tar writer: what it writes reads back the same through Python's tarfile and
GNU tar, its headers are tarfile's own, and a file that changes length never corrupts it."""

import hashlib
import io
import os
import subprocess
import tarfile
from pathlib import Path

import pytest

from imagehost.backups import tar as tarwriter
from imagehost.backups.tar import FileChanged, TarWriter, member_header

MTIME = 1_700_000_000
LONG = "images/" + "d" * 120 + ".jpg"  # too long for ustar's 100-byte name: a pax header


def make_file(folder: Path, name: str, size: int) -> Path:
    path = folder / name
    path.write_bytes(os.urandom(size))
    return path


def write_tar(path: Path, build, buffer_size: int = tarwriter.BUFFER_SIZE) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        writer = TarWriter(fd, buffer_size)
        build(writer)
        writer.close()
    finally:
        os.close(fd)


class Source(io.FileIO):
    """A file read as the backup reads a stored one."""

    def size(self) -> int:
        return os.fstat(self.fileno()).st_size


def add_open(writer: TarWriter, name: str, path: Path, mtime: int = MTIME) -> tuple[int, str]:
    with Source(path) as stream:
        return writer.add_open_file(name, stream, mtime)


def add_sized(writer: TarWriter, name: str, path: Path, size: int) -> str:
    with Source(path) as stream:
        return writer.add_file(name, stream, size, MTIME)


def add_bytes(writer: TarWriter, name: str, data: bytes, mtime: int) -> str:
    return writer.add_file(name, io.BytesIO(data), len(data), mtime)


def read_back(path: Path) -> dict[str, tuple[tarfile.TarInfo, bytes]]:
    with tarfile.open(path) as tar:
        return {info.name: (info, tar.extractfile(info).read()) for info in tar}


# Sizes around the block size, one above add_open_file's single read, one above the buffer.
SIZES = [0, 1, 511, 512, 513, 3000, tarwriter.READ_ROOM + 1, 3 * tarwriter.BUFFER_SIZE + 7]


@pytest.mark.parametrize("buffer_size", [tarwriter.BUFFER_SIZE, 4096])
def test_files_read_back_through_tarfile_with_their_names_sizes_modes_times_and_bytes(
    tmp_path, buffer_size
):
    sources = {f"images/f{size}.jpg": make_file(tmp_path, f"f{size}", size) for size in SIZES}
    digests = {}

    def build(writer: TarWriter) -> None:
        for name, source in sources.items():
            size, digests[name] = add_open(writer, name, source)
            assert size == source.stat().st_size
        digests["manifest.json"] = add_bytes(writer, "manifest.json", b'{"a": 1}\n', MTIME + 5)
        digests[LONG] = add_sized(writer, LONG, sources["images/f513.jpg"], 513)

    out = tmp_path / "out.tar"
    write_tar(out, build, buffer_size)
    members = read_back(out)
    expected = {name: path.read_bytes() for name, path in sources.items()}
    expected["manifest.json"] = b'{"a": 1}\n'
    expected[LONG] = expected["images/f513.jpg"]
    assert list(members) == list(expected)
    for name, (info, data) in members.items():
        assert info.isreg() and info.mode == 0o644
        assert info.size == len(expected[name]) and data == expected[name]
        assert info.mtime == (MTIME + 5 if name == "manifest.json" else MTIME)
        assert digests[name] == hashlib.sha256(data).hexdigest()
    assert out.stat().st_size % tarwriter.RECORD == 0


def test_gnu_tar_lists_and_extracts_the_same_files(tmp_path):
    sources = {name: make_file(tmp_path, f"s{size}", size) for name, size in
               [("images/a.jpg", 2000), ("images/b.thumb.jpg", 0), (LONG, 70_000),
                ("images/ünïcode.png", 10)]}  # fmt: skip
    out = tmp_path / "out.tar"
    write_tar(out, lambda writer: [add_open(writer, n, p) for n, p in sources.items()])

    listing = subprocess.run(
        ["tar", "--utc", "-tvf", str(out)], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert len(listing) == len(sources)
    for line, (name, path) in zip(listing, sources.items(), strict=True):
        mode, owner, size, day, clock, listed = line.split(None, 5)
        assert mode == "-rw-r--r--" and owner == "0/0"
        assert int(size) == path.stat().st_size and listed == name
        assert f"{day} {clock}" == "2023-11-14 22:13"  # MTIME

    target = tmp_path / "extracted"
    target.mkdir()
    subprocess.run(["tar", "-xf", str(out), "-C", str(target)], check=True)
    for name, path in sources.items():
        assert (target / name).read_bytes() == path.read_bytes()
        assert int((target / name).stat().st_mtime) == MTIME


@pytest.mark.parametrize(
    ("name", "size", "mtime"),
    [
        ("images/abcdefghijklmnop.jpg", 12_345, MTIME),
        ("x" * 100, 0, 0),  # fills the name field exactly: still plain ustar
        ("y" * 101, 5, 7),  # a pax path
        ("ünï.png", 3, 3),  # a pax path
        ("big", 8**11, 5),  # a pax size: 8 GiB does not fit 11 octal digits
        ("old", 1, -5),  # a pax mtime
    ],
)
def test_headers_are_byte_for_byte_those_of_tarfile(name, size, mtime):
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = size, mtime, 0o644
    assert member_header(name, size, mtime) == info.tobuf(tarfile.PAX_FORMAT)


# -- a file whose length changes ----------------------------------------------------------------
@pytest.mark.parametrize("size", [3000, 3 * tarwriter.BUFFER_SIZE])
@pytest.mark.parametrize("change", [-1, +1])  # the file shrank, or grew, since its stat
def test_a_file_whose_length_changed_is_refused_and_the_tar_stays_whole(tmp_path, size, change):
    before = make_file(tmp_path, "before", 700)
    changed = make_file(tmp_path, "changed", size + change)
    after = make_file(tmp_path, "after", 900)
    out = tmp_path / "out.tar"

    def build(writer: TarWriter) -> None:
        add_open(writer, "before", before)
        mark = writer.mark()
        with pytest.raises(FileChanged, match=f"changed: {size} bytes expected"):
            add_sized(writer, "changed", changed, size)  # the length a stat gave earlier
        assert writer.mark() == mark  # nothing of it is left, even after a write-out
        add_open(writer, "after", after)

    write_tar(out, build, buffer_size=64 * 1024)
    members = read_back(out)
    assert list(members) == ["before", "after"]
    assert members["after"][1] == after.read_bytes()
    subprocess.run(["tar", "-tf", str(out)], check=True, capture_output=True)


def test_a_file_cut_short_after_it_was_opened_goes_in_as_it_was_read(tmp_path):
    source = make_file(tmp_path, "source", 5000)
    out = tmp_path / "out.tar"

    def build(writer: TarWriter) -> None:
        with Source(source) as stream:
            os.truncate(source, 1234)  # after the open, before the copy
            size, digest = writer.add_open_file("source", stream, MTIME)
        assert size == 1234 and digest == hashlib.sha256(source.read_bytes()).hexdigest()

    write_tar(out, build)
    info, data = read_back(out)["source"]
    assert info.size == 1234 and data == source.read_bytes()


def test_undo_takes_back_members_already_written_out(tmp_path):
    first = make_file(tmp_path, "first", 10_000)
    out = tmp_path / "out.tar"

    def build(writer: TarWriter) -> None:
        add_open(writer, "first", first)
        mark = writer.mark()
        for index in range(20):  # many times the buffer: most of it is on disk already
            add_bytes(writer, f"dropped{index}", os.urandom(3000), MTIME)
        assert os.fstat(writer.fd).st_size > mark
        writer.undo(mark)
        add_bytes(writer, "last", b"last", MTIME)

    write_tar(out, build, buffer_size=8192)
    assert list(read_back(out)) == ["first", "last"]


def test_an_empty_tar_is_two_zero_blocks_and_padding(tmp_path):
    out = tmp_path / "out.tar"
    write_tar(out, lambda writer: None)
    assert out.read_bytes() == bytes(tarwriter.RECORD)
    with tarfile.open(out) as tar:
        assert tar.getmembers() == []


def test_closing_twice_writes_the_end_once(tmp_path):
    out = tmp_path / "out.tar"

    def build(writer: TarWriter) -> None:
        add_bytes(writer, "a", b"a", MTIME)
        writer.close()

    write_tar(out, build)  # which closes it again
    assert out.stat().st_size == tarwriter.RECORD
    assert read_back(out)["a"][1] == b"a"
