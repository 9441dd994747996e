"""The maintenance commands: `check [--fix]`, `backup` (for cron), `restore FILE [--replace]`,
`hash-password`, `s3-setup`, `migrate-storage --to s3`. Their arguments are parsed in
__main__.py."""

import asyncio
import getpass
import sys
from pathlib import Path

from loguru import logger

from .accounts.passwords import hash_password
from .backups.restore import RestoreError, RestoreReport, restore
from .backups.service import BackupBusy
from .consistency import check_consistency, repair
from .context import build_context
from .database import DatabaseUnavailable
from .embedded import database_for
from .logsetup import setup_logging
from .migrate import migrate
from .migrations import wait_for_database
from .s3admin import S3AdminError, put_policy, read_policy
from .s3config import StorageError
from .server import settings_or_none
from .settings import MIN_ADMIN_PASSWORD, Settings, SettingsError
from .storage import LocalStorage


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


async def _backup(settings: Settings) -> int:
    async with build_context(settings) as ctx:
        await wait_for_database(ctx.repo, wait=10)
        backup = await ctx.backups.run()
        print(ctx.backups.path(backup.name))
        _say(f"backup written: {backup.name}, {backup.size:,} bytes")
    return 0


async def _restore(settings: Settings, path: Path, replace: bool) -> int:
    async with build_context(settings) as ctx:
        await wait_for_database(ctx.repo, wait=10)
        report = await restore(path, ctx.repo, ctx.storage, replace=replace, say=_say)
        # The restored admin account takes its password from the settings again, as at a
        # start-up (or is made anew when the backup's admin had another name).
        await ctx.accounts.prepare()
    logger.info(
        f"restore from {path.name}: {report.records_added} records added, "
        f"{report.files_written} files written, "
        f"{len(report.skipped_accounts)} accounts skipped (name taken)"
    )
    for line in restore_summary(report, replace):
        _say(line)
    return 0


def restore_summary(report: RestoreReport, replace: bool) -> list[str]:
    """What the restore command prints once it is done: counts, one line per account it left
    out (and how to get it), then the notes."""
    lines = [
        f"restored from a {report.source}: {report.records} records "
        f"({report.records_added} added, {report.records_present} already there"
        + (f", {report.records_removed} removed first" if replace else "")
        + (f", {report.records_skipped} left out" if report.records_skipped else "")
        + f"); {report.files_written} files written, {report.files_present} already there"
    ]  # fmt: skip
    sides = [f"{name} {report.collections_added.get(name, 0)} of {count} added"
             for name, count in report.collections.items()]  # fmt: skip
    if sides:
        lines.append("and " + ", ".join(sides))
    for account in report.skipped_accounts:
        lines.append(
            f"skipped: the backup's account {account.username} was not restored, nor its "
            f"{_count(account.images, 'image')}, {_count(account.albums, 'album')} and "
            f"{_count(account.tokens, 'API token')}: an account in the database already has "
            "that name; to get it, delete that account (the admin's Users page) and restore "
            "again, or restore with --replace (the database becomes the backup's, without that "
            "account)"
        )
    lines.extend(f"note: {note}" for note in report.notes)
    return lines


def _count(number: int, thing: str) -> str:
    return f"{number} {thing}" if number == 1 else f"{number} {thing}s"


def run_backup() -> int:
    """`backup`: exit status 0 when written, 1 when not (one is running, no database...)."""
    return _run("backup", _backup)


def run_restore(file: str, replace: bool = False) -> int:
    """`restore FILE [--replace]`: exit status 0 when restored, 1 when nothing was changed."""
    return _run("restore", lambda settings: _restore(settings, Path(file), replace))


def _run(command: str, job) -> int:
    settings = settings_or_none(f"imagehost {command}")
    if settings is None:
        return 2
    setup_logging(settings.logs_dir, settings.log_level, console=False)
    try:
        with database_for(settings, reuse_running=True) as ready:
            return asyncio.run(job(ready))
    except (BackupBusy, RestoreError, DatabaseUnavailable, SettingsError) as exc:
        _say(f"imagehost {command}: {exc}")
        logger.error(f"{command} failed: {exc}")
        return 1
    finally:
        logger.complete()


def hash_password_command() -> int:
    """Print an argon2 hash of a password read from the terminal (twice) or from stdin."""
    if sys.stdin.isatty():
        password = getpass.getpass("admin password: ")
        if getpass.getpass("again: ") != password:
            _say("the two passwords differ")
            return 1
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if len(password) < MIN_ADMIN_PASSWORD:
        _say(f"the password must be at least {MIN_ADMIN_PASSWORD} characters")
        return 1
    print(hash_password(password))
    return 0


def run_check(fix: bool, grace: float) -> int:
    """Report (and with --fix repair) files without records and records without files.

    Exit status: 0 consistent (after the repair, with --fix), 1 problems remain, 2 cannot run.
    """
    settings = settings_or_none("imagehost check")
    if settings is None:
        return 2
    logger.remove()  # the embedded database's start-up line is not this command's output
    try:
        with database_for(settings, reuse_running=True) as settings:
            return asyncio.run(_check(settings, fix, grace))
    except DatabaseUnavailable as exc:
        print(f"imagehost check: the database is unavailable: {exc}", file=sys.stderr)
        return 2


async def _check(settings, fix: bool, grace: float) -> int:
    async with build_context(settings) as ctx:
        report = await check_consistency(ctx.repo, ctx.storage, grace=grace)
        print(report.summary())
        for line in report.details():
            print(f"  {line}")
        if report.ok or not fix:
            return 0 if report.ok else 1
        for line in await repair(ctx.uploads, report):
            print(f"fixed: {line}")
        after = await check_consistency(ctx.repo, ctx.storage, grace=grace)
        print(f"after the repair: {after.summary()}")
        return 0 if after.ok else 1


def _s3_settings(command: str) -> Settings | None:
    """The settings, when they name a bucket; None after saying what is missing."""
    settings = settings_or_none(f"imagehost {command}")
    if settings is not None and settings.s3 is None:
        _say(f"imagehost {command}: set STORAGE=s3 and the S3_* settings of the bucket")
        return None
    return settings


def run_s3_setup(reader_ip: str = "") -> int:
    """Set the bucket policy nginx needs: anonymous GETs of the images prefix, nothing else.

    Exit status: 0 set, 1 the server refused it, 2 cannot run (bad settings, STORAGE=local).
    """
    settings = _s3_settings("s3-setup")
    if settings is None:
        return 2
    policy = read_policy(settings.s3, reader_ip)
    try:
        put_policy(settings.s3, policy)
    except (S3AdminError, OSError) as exc:
        _say(f"imagehost s3-setup: {exc}")
        return 1
    _say(f"bucket policy set: anonymous GET of {policy['Statement'][0]['Resource']}")
    return 0


def run_migrate() -> int:
    """Copy every image and thumbnail of IMAGES_DIR into the bucket of the S3_* settings,
    checking each object's size and sha256; the folder is left as it is. Run it again to
    resume. Exit status: 0 all copied, 1 some failed, 2 cannot run."""
    settings = _s3_settings("migrate-storage")
    if settings is None:
        return 2
    from .s3storage import S3Storage  # only here: see context.open_storage

    source, target = LocalStorage(settings.images_dir), S3Storage(settings.s3)

    async def job() -> int:
        try:
            await target.check()
        except StorageError as exc:
            _say(f"imagehost migrate-storage: {exc}")
            return 2
        _say(f"copying {settings.images_dir} into {settings.s3.bucket}/{settings.s3.key('')}")
        report = await migrate(source, target, say=_say)
        _say(report.summary())
        return 0 if report.ok else 1

    return asyncio.run(job())
