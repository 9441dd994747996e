"""A user's clone stands alone: no tracked file may refer to the developers' `shared` folder,
which sits beside the repository only on the team's own machines."""

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
THIS = Path(__file__).resolve().relative_to(ROOT).as_posix()

# "../shared", a path built as ... / "shared" / ..., or "shared/testdata"-style names.
SHARED = re.compile(
    r"""\.\./shared\b"""
    r"""|["']shared["']\s*/|/\s*["']shared["']"""
    r"""|\bshared/(testdata|notes|tools|hooks|STYLE)"""
)


def tracked_files() -> list[str]:
    listing = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout
    return [name for name in listing.decode().split("\0") if name]


def test_the_checkout_is_a_git_clone():
    assert "Makefile" in tracked_files()


def test_no_tracked_file_refers_to_the_shared_folder():
    offenders = []
    for name in tracked_files():
        if name == THIS:
            continue
        try:
            text = (ROOT / name).read_text(encoding="utf-8")
        except (UnicodeDecodeError, FileNotFoundError):
            continue  # binary fixtures (images, archives) and files deleted in the work tree
        for number, line in enumerate(text.splitlines(), 1):
            if SHARED.search(line):
                offenders.append(f"{name}:{number}: {line.strip()}")
    assert offenders == []


def test_the_pattern_catches_each_way_of_naming_it():
    for line in (
        'TESTDATA = Path(__file__).parents[2] / ".." / "shared" / "testdata"',
        "see ../shared/notes/ceph-rgw.md",
        "MONGODUMP = ROOT.parent / 'shared' / 'testdata'",
        "cp shared/testdata/mongodump/x .",
    ):
        assert SHARED.search(line), line
    assert not SHARED.search("the shared executor runs the copy")
