"""Restore a backup (or the `images` collection of a plain `mongodump --archive` file): every
checksum is checked before anything is touched; then the files, then the records.
"""

import asyncio
import hashlib
import itertools
import json
import tarfile
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import bson
from bson.errors import InvalidBSON
from pymongo.errors import BulkWriteError

from ..accounts.usage import count_stored
from ..accounts.users import UserRepository, username_key
from ..database import COLLECTION, ImageRepository, record_files
from ..migrations import prepare_database
from ..storage import NAME_PATTERN, Readable, Storage
from .accounts import BackupAccounts, SkippedAccount
from .archive import (
    GZIP_MAGIC,
    MAGIC,
    ArchiveDocument,
    ArchiveError,
    CollectionInfo,
    open_archive,
    read_archive,
)
from .layout import ARCHIVE_MEMBER, IMAGES_PREFIX, MANIFEST_FORMAT, MANIFEST_MEMBER
from .records import SIDE_COLLECTIONS, RawCollection, RawRecords

BATCH = 500
_READ = 1024 * 1024


class RestoreError(Exception):
    """The file cannot be restored, or not without --replace; nothing was changed."""


@dataclass
class RestoreReport:
    source: str
    records: int = 0
    records_added: int = 0
    records_present: int = 0
    records_removed: int = 0
    files_written: int = 0
    files_present: int = 0
    missing_files: int = 0
    # Documents of each side collection (albums, their memberships) in the archive, and added.
    collections: dict[str, int] = field(default_factory=dict)
    collections_added: dict[str, int] = field(default_factory=dict)
    # The backup's accounts not restored, nor what they own: their names are taken.
    skipped_accounts: list[SkippedAccount] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def records_skipped(self) -> int:
        """The backup's records left out with their account."""
        return sum(account.images for account in self.skipped_accounts)


@dataclass(frozen=True)
class _Record:
    raw: bytes
    doc: dict

    @property
    def name(self) -> str:
        return self.doc["name"]

    @property
    def files(self) -> tuple[str, ...]:
        return record_files(self.doc["name"], self.doc.get("thumbnail", ""))


def _sha256(stream: BinaryIO | Readable) -> str:
    digest = hashlib.sha256()
    view = memoryview(bytearray(_READ))
    while got := stream.readinto(view):
        digest.update(view[:got])
    return digest.hexdigest()


def _file_kind(path: Path) -> str:
    with open(path, "rb") as probe:
        head = probe.read(4)
    if head[:2] == GZIP_MAGIC or head == MAGIC:
        return "archive"
    return "backup"


class _BackupSource:
    """A backup tar made by imagehost: manifest, mongodump archive, images/."""

    kind = "imagehost backup"
    strict = True

    def __init__(self, path: Path) -> None:
        try:
            self.tar = tarfile.open(path, "r:")
        except tarfile.TarError as exc:
            raise RestoreError(f"{path} is neither an imagehost backup nor a mongodump archive "
                               f"({exc})") from None  # fmt: skip
        self.members: dict[str, tarfile.TarInfo] = {}
        self.manifest: dict = {}

    def close(self) -> None:
        self.tar.close()

    def verify(self, say: Callable[[str], None]) -> None:
        """The manifest names every member and every member has its sha256."""
        for info in self.tar:
            if not info.isreg():
                raise RestoreError(f"the backup holds {info.name!r}, which is not a plain file")
            if info.name in self.members:
                raise RestoreError(f"the backup holds {info.name!r} twice")
            self.members[info.name] = info
        if MANIFEST_MEMBER not in self.members or ARCHIVE_MEMBER not in self.members:
            raise RestoreError(f"not an imagehost backup: no {MANIFEST_MEMBER} or {ARCHIVE_MEMBER}")
        try:
            manifest = json.loads(self.read(MANIFEST_MEMBER))
        except ValueError as exc:
            raise RestoreError(f"{MANIFEST_MEMBER} is not valid JSON: {exc}") from None
        if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
            raise RestoreError(f"{MANIFEST_MEMBER} is not an imagehost backup manifest")
        files = manifest.get("files")
        if not isinstance(files, dict):
            raise RestoreError(f"{MANIFEST_MEMBER} has no list of files")
        listed, present = set(files), set(self.members) - {MANIFEST_MEMBER}
        if listed != present:
            odd = sorted(listed ^ present)[:5]
            raise RestoreError(f"the manifest and the backup's files differ: {', '.join(odd)}")
        for name in present:
            if name != ARCHIVE_MEMBER and not (
                name.startswith(IMAGES_PREFIX) and NAME_PATTERN.match(name[len(IMAGES_PREFIX) :])
            ):
                raise RestoreError(f"the backup holds an unexpected file {name!r}")
        say(f"checking the sha256 of {len(present)} files")
        for name in sorted(present):
            with self.open(name) as stream:
                if _sha256(stream) != files[name]:
                    raise RestoreError(f"{name} is damaged: its sha256 is not the manifest's")
        self.manifest = manifest

    def open(self, name: str) -> BinaryIO:
        stream = self.tar.extractfile(self.members[name])
        assert stream is not None
        return stream

    def read(self, name: str) -> bytes:
        with self.open(name) as stream:
            return stream.read()

    def archive(self) -> BinaryIO:
        return open_archive(self.open(ARCHIVE_MEMBER))

    def preferred_db(self) -> str:
        database = self.manifest.get("database")
        return database.get("db", "") if isinstance(database, dict) else ""

    def has_file(self, name: str) -> bool:
        return IMAGES_PREFIX + name in self.members

    def file_sha256(self, name: str) -> str:
        return self.manifest["files"][IMAGES_PREFIX + name]


class _ArchiveSource:
    """A plain mongodump archive (gzipped or not): records only, no image files."""

    kind = "mongodump archive"
    strict = False

    def __init__(self, path: Path) -> None:
        self.path = path

    def close(self) -> None:
        pass

    def verify(self, say: Callable[[str], None]) -> None:
        say("a plain mongodump archive: it holds records only, no image files")

    def archive(self) -> BinaryIO:
        return open_archive(self.path)

    def preferred_db(self) -> str:
        return ""

    def has_file(self, name: str) -> bool:
        return False


class _Plan:
    """What the archive holds for the app, found by reading it once, CRCs and all."""

    def __init__(self, source, target_db: str) -> None:
        self.source = source
        self.target_db = target_db
        self.namespace: tuple[str, str] | None = None
        self.records = 0
        self.files: set[str] = set()
        self.skipped = 0
        self.sides: dict[str, int] = {}
        self.accounts = BackupAccounts()
        self.notes: list[str] = []

    def scan(self) -> None:
        names: set[str] = set()
        self.sides = dict.fromkeys(SIDE_COLLECTIONS, 0)
        for record in self.records_of_archive(check=True, side=self.saw_side):
            if record.name in names:
                raise RestoreError(f"the archive holds the record {record.name} twice")
            names.add(record.name)
            self.records += 1
            self.accounts.saw_record(record.doc)
            for name in record.files:
                if self.source.strict and not self.source.has_file(name):
                    raise RestoreError(f"the record {record.name} has no file {name} in the backup")
                if self.source.has_file(name):
                    self.files.add(name)
        if self.skipped:
            self.notes.append(f"{self.skipped} documents are not image records and were skipped")

    def saw_side(self, name: str, raw: bytes) -> None:
        """Count a side collection's document; note what it says of the accounts."""
        self.sides[name] += 1
        self.accounts.saw_side(name, raw)

    @property
    def kept_records(self) -> int:
        """The records that are restored: those of accounts left out are not."""
        return self.records - self.accounts.records_left_out

    def files_of_kept_records(self) -> None:
        """The files to restore again, once accounts were left out: only the kept records'."""
        self.files = {
            name
            for record in self.records_of_archive()
            for name in record.files
            if self.source.has_file(name)
        }

    def records_of_archive(
        self, check: bool = False, side: Callable[[str, bytes], None] | None = None
    ) -> Iterator[_Record]:
        """The image records of the chosen collection but those of accounts left out (and
        each side collection's document to `side`, when given)."""
        for namespace, raw in self.documents():
            if namespace == self.namespace:
                record = self.record(raw, check)
                if record is not None and self.accounts.keeps_record(record.doc):
                    yield record
            elif side is not None and self.is_side(namespace):
                side(namespace[1], raw)

    def side_documents(self) -> Iterator[tuple[str, bytes]]:
        """The raw documents of every side collection, from the chosen collection's database,
        with the collection's name (but those of accounts left out): the archive read once for
        all of them."""
        for namespace, raw in self.documents():
            if self.is_side(namespace) and self.accounts.keeps_side(namespace[1], raw):
                yield namespace[1], raw

    def is_side(self, namespace: tuple[str, str]) -> bool:
        return namespace[0] == self.namespace[0] and namespace[1] in SIDE_COLLECTIONS

    def documents(self) -> Iterator[tuple[tuple[str, str], bytes]]:
        """Every document of the archive with its namespace, once the `images` collection is
        chosen; the whole archive is read to its end, so a CRC mismatch anywhere raises (after
        the documents before it were yielded)."""
        infos: list[CollectionInfo] = []
        try:
            with self.source.archive() as stream:
                for item in read_archive(stream):
                    if isinstance(item, CollectionInfo):
                        infos.append(item)
                    elif isinstance(item, ArchiveDocument):
                        if self.namespace is None:
                            self.namespace = self.choose(infos)
                        yield (item.db, item.collection), item.raw
        except (ArchiveError, OSError, EOFError) as exc:
            raise RestoreError(f"the database archive is damaged: {exc}") from None
        if self.namespace is None:
            self.namespace = self.choose(infos)

    def choose(self, infos: list[CollectionInfo]) -> tuple[str, str]:
        """The `images` collection to restore, and a note on every other one."""
        candidates = [i for i in infos if i.collection == COLLECTION and i.type == "collection"]
        preferred = [i for i in candidates if i.db in (self.source.preferred_db(), self.target_db)]
        chosen = (preferred or candidates)[:1]
        if not chosen:
            held = ", ".join(i.namespace for i in infos) or "nothing"
            raise RestoreError(
                f"no `{COLLECTION}` collection in this archive (it holds {held}): "
                "imagehost restores only its image records"
            )
        if len(candidates) > 1 and not preferred:
            held = ", ".join(i.namespace for i in candidates)
            raise RestoreError(f"several `{COLLECTION}` collections ({held}); which one is unclear")
        sides = [(chosen[0].db, name) for name in SIDE_COLLECTIONS]
        others = [
            i.namespace for i in infos if i is not chosen[0] and (i.db, i.collection) not in sides
        ]
        if others:
            self.notes.append(f"not restored (not imagehost's records): {', '.join(others)}")
        return chosen[0].db, chosen[0].collection

    def record(self, raw: bytes, check: bool) -> _Record | None:
        try:
            doc = bson.decode(raw)
        except (InvalidBSON, ValueError, TypeError) as exc:
            raise RestoreError(f"a record is not valid BSON: {exc}") from None
        name, thumb = doc.get("name"), doc.get("thumbnail", "")
        if (
            isinstance(name, str)
            and NAME_PATTERN.match(name)
            and isinstance(thumb, str)
            and (not thumb or NAME_PATTERN.match(thumb))
        ):
            return _Record(raw, doc)
        if self.source.strict:
            raise RestoreError(f"a record of the backup is not an image record: {doc.get('_id')}")
        if check:
            self.skipped += 1
        return None


async def _in_thread(func: Callable, *args):
    return await asyncio.get_running_loop().run_in_executor(None, func, *args)


async def _batches(plan: _Plan) -> AsyncIterator[list[_Record]]:
    """The records in batches, read on a thread so the database calls stay on the loop."""
    records = plan.records_of_archive()

    def take() -> list[_Record]:
        return list(itertools.islice(records, BATCH))

    while batch := await _in_thread(take):
        yield batch


async def restore(
    path: Path,
    repo: ImageRepository,
    storage: Storage,
    *,
    replace: bool = False,
    say: Callable[[str], None] = lambda line: None,
) -> RestoreReport:
    """Check everything, then restore; RestoreError (with nothing changed) when it cannot."""
    path = Path(path)
    if not path.is_file():
        raise RestoreError(f"no such file: {path}")
    kind = await _in_thread(_file_kind, path)
    source = _ArchiveSource(path) if kind == "archive" else await _in_thread(_BackupSource, path)
    try:
        return await _restore(source, repo, storage, replace, say)
    finally:
        source.close()


async def _restore(source, repo, storage, replace: bool, say) -> RestoreReport:
    report = RestoreReport(source.kind)
    raw = RawRecords(repo)
    await _in_thread(source.verify, say)
    plan = _Plan(source, repo.db_name)
    say("reading the database archive and checking its CRCs")
    await _in_thread(plan.scan)
    report.records = plan.records
    report.collections = dict(plan.sides)
    report.notes.extend(plan.notes)
    if not replace:
        users = UserRepository(repo.client, repo.db_name)
        report.skipped_accounts = await plan.accounts.leave_out_taken(users)
        if report.skipped_accounts:
            await _in_thread(plan.files_of_kept_records)

    # Compare with what is there already: a database (or a folder) holding nothing else than
    # this backup's records (and files) is restored into without --replace.
    say("comparing with the database and the images folder")
    present = 0
    async for batch in _batches(plan):
        stored = await raw.by_name(r.name for r in batch)
        present += sum(
            1 for r in batch if r.name in stored and bson.decode(stored[r.name]) == r.doc
        )
    existing = await repo.count()
    conflicts, _ = await _in_thread(_compare_files, plan, storage)
    if not replace and existing > present:
        raise RestoreError(
            f"the database already holds {existing - present} records that are not in this "
            "backup; nothing was changed (restore with --replace to replace them)"
        )
    if not replace and conflicts:
        raise RestoreError(
            f"{len(conflicts)} files in the images folder differ from the backup's (such as "
            f"{conflicts[0]}); nothing was changed (restore with --replace to replace them)"
        )

    say(f"restoring {len(plan.files)} files")
    written = await _write_files(plan, storage, replace)
    report.files_written = written
    report.files_present = len(plan.files) - written

    say(f"restoring {plan.kept_records} records")
    if replace:
        report.records_removed = await repo.delete_all()
        present = 0
    async for batch in _batches(plan):
        if not replace:
            stored = await raw.by_name(r.name for r in batch)
            batch = [r for r in batch if r.name not in stored]
        try:
            report.records_added += await raw.insert(r.raw for r in batch)
        except BulkWriteError as exc:
            raise RestoreError(
                f"a record could not be inserted ({exc.details.get('writeErrors', [{}])[0]}); "
                f"{report.records_added} were; run the restore again with --replace"
            ) from None
    report.records_present = present
    await prepare_database(repo)
    if not replace:
        report.notes.extend(await _settings_admin_gives_way(plan, repo))
    report.collections_added = await _restore_sides(plan, repo, replace)
    # The accounts' running totals of stored bytes, counted again from the records now there.
    await count_stored(repo, UserRepository(repo.client, repo.db_name), every=True)
    found = 0
    async for batch in _batches(plan):  # every record of the backup is there now
        found += len(await raw.by_name(r.name for r in batch))
    if found != plan.kept_records:
        raise RestoreError(
            f"only {found} of the backup's {plan.kept_records} records are in the database after "
            "the restore; run it again"
        )
    if not source.strict:
        stored = {f.name for f in await storage.scan() if not f.temp}
        report.missing_files = await _in_thread(_count_missing, plan, stored)
        if report.missing_files:
            report.notes.append(
                f"{report.missing_files} records have no image file in the images folder: "
                "their links answer 404 until the files are put back"
            )
    return report


async def _restore_sides(plan: _Plan, repo: ImageRepository, replace: bool) -> dict[str, int]:
    """The side collections' documents: added where missing, or (with --replace) exactly the
    backup's, a collection emptied when the backup has none of it. Returns how many were
    added to each."""
    collections = {
        name: RawCollection(repo.client, repo.db_name, name) for name in SIDE_COLLECTIONS
    }
    for collection in collections.values():
        if replace:
            await collection.delete_all()
        # Before the documents: one already there under another _id (a membership, an
        # account's name) is not added twice.
        await collection.ensure_indexes()
    documents = plan.side_documents()

    def take() -> list[tuple[str, bytes]]:
        return list(itertools.islice(documents, BATCH))

    added = dict.fromkeys(SIDE_COLLECTIONS, 0)
    while batch := await _in_thread(take):
        for name, collection in collections.items():
            added[name] += await collection.add([raw for of, raw in batch if of == name])
    return added


async def _settings_admin_gives_way(plan: _Plan, repo: ImageRepository) -> list[str]:
    """The admin account made from the settings (by a start-up before this restore) gives way
    to the backup's admin of the same name under another id, which owns the backup's images,
    albums and tokens; the restore command sets its password from the settings again."""
    users = UserRepository(repo.client, repo.db_name)
    notes = []
    for user in await users.settings_admins():
        if plan.accounts.settings_admins.get(username_key(user.username), user.id) != user.id:
            await users.delete(user.id)
            notes.append(f"the admin account {user.username} is the backup's (made before it)")
    return notes


def _compare_files(plan: _Plan, storage: Storage) -> tuple[list[str], set[str]]:
    """The backup's files that the images folder holds with other bytes, and those it holds
    as they are in the backup; on a thread."""
    differing, same = [], set()
    with storage.reader() as open_stored:
        for name in sorted(plan.files):
            try:
                stream = open_stored(name)
            except FileNotFoundError:
                continue
            try:
                if _sha256(stream) == plan.source.file_sha256(name):
                    same.add(name)
                else:
                    differing.append(name)
            finally:
                stream.close()
    return differing, same


async def _write_files(plan: _Plan, storage: Storage, replace: bool) -> int:
    _, same = await _in_thread(_compare_files, plan, storage)
    written = 0
    for name in sorted(plan.files - same):
        data = await _in_thread(plan.source.read, IMAGES_PREFIX + name)
        await storage.put(name, data, replace=replace)
        written += 1
    return written


def _count_missing(plan: _Plan, stored: set[str]) -> int:
    """How many records lack a file in the images folder."""
    return sum(1 for record in plan.records_of_archive() if not stored.issuperset(record.files))
