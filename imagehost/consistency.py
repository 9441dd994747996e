"""Image files against image records: what `python -m imagehost check [--fix]` and start-up run.

An upload writes its files first and its record last, and a delete removes the record first, so
a crash leaves files without a record (never reachable by a link) or temp files; a lost disk
leaves records without files. The check finds both; the repair removes what no link can reach.
"""

import asyncio
from concurrent.futures import Executor
from dataclasses import dataclass, field

from loguru import logger

from .database import ImageRepository, record_files
from .images.thumbnail import make_thumbnail
from .storage import Storage
from .uploads import UploadService

# Younger files may belong to an upload still in flight (its record not written yet): a repair
# run beside a live server leaves them alone. Longer than any upload's database wait.
DEFAULT_GRACE = 120.0
# Names listed per kind in logs and reports; the counts are always complete.
SHOWN = 20


@dataclass
class ConsistencyReport:
    records: int = 0
    files: int = 0
    orphan_files: list[str] = field(default_factory=list)
    missing_images: list[str] = field(default_factory=list)
    missing_thumbnails: list[str] = field(default_factory=list)
    temp_files: list[str] = field(default_factory=list)
    recent: int = 0

    @property
    def ok(self) -> bool:
        return not (
            self.orphan_files or self.missing_images or self.missing_thumbnails or self.temp_files
        )

    def summary(self) -> str:
        text = (
            f"{self.records} records, {self.files} files: "
            f"{len(self.orphan_files)} files without a record, "
            f"{len(self.missing_images)} records without their image, "
            f"{len(self.missing_thumbnails)} records without their thumbnail, "
            f"{len(self.temp_files)} leftover temp files"
        )
        if self.recent:
            text += f" ({self.recent} files younger than the grace period not judged)"
        return text

    def details(self) -> list[str]:
        lines = []
        for label, names in (
            ("file without a record", self.orphan_files),
            ("record without its image", self.missing_images),
            ("record without its thumbnail", self.missing_thumbnails),
            ("leftover temp file", self.temp_files),
        ):
            lines += [f"{label}: {name}" for name in sorted(names)[:SHOWN]]
            if len(names) > SHOWN:
                lines.append(f"{label}: ... and {len(names) - SHOWN} more")
        return lines


async def check_consistency(
    repo: ImageRepository, storage: Storage, *, grace: float = 0.0
) -> ConsistencyReport:
    """Compare the records with the files; files younger than `grace` seconds are not judged.

    Raises DatabaseUnavailable when the records cannot be read.
    """
    report = ConsistencyReport()
    # Records first: an upload writes its files before its record, so every record read here
    # had its files on disk before the folder is listed. (A delete running meanwhile can make
    # a record look file-less; `repair` reads each record again before acting.)
    records = [pair async for pair in repo.all_names()]
    files = await storage.scan()
    stored = {f.name for f in files if not f.temp}
    referenced: set[str] = set()
    for name, thumbnail in records:
        referenced.update(record_files(name, thumbnail))
        if name not in stored:
            report.missing_images.append(name)
        elif thumbnail and thumbnail not in stored:
            report.missing_thumbnails.append(name)
    report.records = len(records)
    report.files = len(stored)
    for entry in files:
        if entry.temp or entry.name not in referenced:
            if entry.age < grace:
                report.recent += 1
            elif entry.temp:
                report.temp_files.append(entry.name)
            else:
                report.orphan_files.append(entry.name)
    return report


async def repair(uploads: UploadService, report: ConsistencyReport) -> list[str]:
    """Fix what `report` found; returns one line per action, and per thing left as it was.

    Files without a record and temp files are removed (no link was ever given for them);
    records whose image is gone are deleted as any image is (with their thumbnail); missing
    thumbnails are made again from the image.
    """
    repo, storage = uploads.repo, uploads.storage
    actions = []
    for name in report.orphan_files:
        if await storage.delete(name):
            actions.append(f"removed file without a record: {name}")
    for name in report.temp_files:
        if await storage.delete_temp(name):
            actions.append(f"removed leftover temp file: {name}")
    for name in report.missing_images:
        record = await repo.get(name)
        if record is None:
            continue
        await uploads.delete(record)
        actions.append(f"removed record whose image is gone: {name}")
    for name in report.missing_thumbnails:
        actions.append(await _remake_thumbnail(repo, storage, name, uploads.executor))
    return actions


async def _remake_thumbnail(
    repo: ImageRepository, storage: Storage, name: str, executor: Executor | None
) -> str:
    record = await repo.get(name)
    if record is None or not record.thumbnail:
        return f"left as it was (record gone meanwhile): {name}"
    loop = asyncio.get_running_loop()
    try:
        with await storage.open(name) as source:
            data = await loop.run_in_executor(executor, source.read)
        thumbnail = await loop.run_in_executor(executor, make_thumbnail, data, record.format)
    except (OSError, ValueError) as exc:
        return f"could not make the thumbnail of {name} again: {exc}"
    if not record.thumbnail.endswith(thumbnail.extension):
        return f"could not make the thumbnail of {name} again: its format changed"
    try:
        await storage.put(record.thumbnail, thumbnail.data)
    except FileExistsError:
        return f"left as it was (thumbnail appeared meanwhile): {name}"
    return f"made the thumbnail again: {record.thumbnail}"


def log_report(report: ConsistencyReport) -> None:
    """One line at start-up: INFO when consistent, WARNING with the names when not."""
    if report.ok:
        logger.info(f"consistency check: {report.summary()}")
        return
    names = "; ".join(report.details())
    logger.warning(
        f"consistency check: {report.summary()}; run `python -m imagehost check --fix` to "
        f"repair: {names}"
    )
