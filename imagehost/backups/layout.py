"""What a backup is, for the code that writes it and the code that reads it: the tar's file name
and members, and the manifest's format."""

import re
from datetime import UTC, datetime

# A backup's file name, as routes match it: the UTC time it was made, a suffix when several runs
# share a second.
BACKUP_FILE = r"imagehost-\d{8}T\d{6}Z(?:-\d+)?\.tar"
BACKUP_NAME = re.compile(f"^{BACKUP_FILE}$")
STAMP_FORMAT = "%Y%m%dT%H%M%SZ"
_PREFIX, _SUFFIX = "imagehost-", ".tar"

ARCHIVE_MEMBER = "mongodump.archive.gz"
MANIFEST_MEMBER = "manifest.json"
IMAGES_PREFIX = "images/"
MANIFEST_FORMAT = "imagehost-backup"
MANIFEST_VERSION = 1


def backup_name(when: datetime, suffix: int = 0) -> str:
    stamp = when.strftime(STAMP_FORMAT)
    return f"{_PREFIX}{stamp}-{suffix}{_SUFFIX}" if suffix else f"{_PREFIX}{stamp}{_SUFFIX}"


def _parts(name: str) -> tuple[str, int]:
    if not BACKUP_NAME.match(name):
        raise ValueError(f"not a backup file name: {name!r}")
    stamp, _, suffix = name.removeprefix(_PREFIX).removesuffix(_SUFFIX).partition("-")
    return stamp, int(suffix or 0)


def backup_time(name: str) -> datetime:
    return datetime.strptime(_parts(name)[0], STAMP_FORMAT).replace(tzinfo=UTC)


def backup_order(name: str) -> tuple[str, int]:
    """Sorts backup names by the time they were made, then by suffix."""
    return _parts(name)
