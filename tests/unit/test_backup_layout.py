"""A backup's file name and manifest: one definition, read back as it was written."""

import io
import json
import re
from datetime import UTC, datetime

import pytest

from imagehost.backups import writer
from imagehost.backups.layout import (
    BACKUP_FILE,
    BACKUP_NAME,
    backup_name,
    backup_order,
    backup_time,
)

WHEN = datetime(2026, 12, 1, 9, 30, 5, tzinfo=UTC)


def test_a_name_gives_back_its_time_and_sorts_by_time_then_suffix():
    names = [backup_name(WHEN, 2), backup_name(WHEN), backup_name(WHEN, 10), backup_name(WHEN, 1)]
    assert backup_name(WHEN) == "imagehost-20261201T093005Z.tar"
    assert all(BACKUP_NAME.match(n) and re.fullmatch(BACKUP_FILE, n) for n in names)
    assert {backup_time(n) for n in names} == {WHEN}
    assert sorted(names, key=backup_order) == [
        "imagehost-20261201T093005Z.tar",
        "imagehost-20261201T093005Z-1.tar",
        "imagehost-20261201T093005Z-2.tar",
        "imagehost-20261201T093005Z-10.tar",
    ]


@pytest.mark.parametrize(
    "name", ["imagehost-20261201T093005Z.tar.gz", "x-20261201T093005Z.tar", "imagehost-2026.tar"]
)
def test_other_names_are_not_backups(name):
    assert not BACKUP_NAME.match(name)
    with pytest.raises(ValueError):
        backup_time(name)


@pytest.mark.parametrize(
    "files", [{}, {"images/a.jpg": "0" * 64, "mongodump.archive.gz": "1" * 64}]
)
def test_the_manifest_is_what_json_dumps_writes_with_its_files_streamed_last(files):
    head = {"format": "imagehost-backup", "database": {"db": "d", "n": 1}, "counts": {"a": 2}}
    listing = io.StringIO("".join(writer._entry(member, d) for member, d in files.items()))
    out = io.StringIO()
    writer.write_manifest(out, head, listing)
    assert out.getvalue() == json.dumps({**head, "files": files}, indent=1) + "\n"
