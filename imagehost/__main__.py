"""Command line: `python -m imagehost [serve | check | backup | restore FILE | hash-password]`."""

import argparse
import asyncio
import sys

from loguru import logger

from .commands import hash_password_command, run_backup, run_restore
from .consistency import DEFAULT_GRACE, check_consistency, repair
from .database import DatabaseUnavailable
from .server import build_context, database_for, main, settings_or_none

USAGE = """usage: python -m imagehost [COMMAND]

commands:
  serve                     run the app (the default)
  check [--fix] [--grace SECONDS]
                            report (and repair) files without records and records without files
  backup                    write a backup to BACKUP_DIR now (for cron); prints its path
  restore FILE [--replace]  restore a backup (or a mongodump --archive file); --replace
                            replaces records and files that differ from the backup's
  hash-password             print an argon2 hash for ADMIN_PASSWORD_HASH (reads stdin)"""


def check(argv: list[str]) -> int:
    """Report (and with --fix repair) files without records and records without files.

    Exit status: 0 consistent (after the repair, with --fix), 1 problems remain, 2 cannot run.
    """
    parser = argparse.ArgumentParser(prog="python -m imagehost check", description=check.__doc__)
    parser.add_argument("--fix", action="store_true", help="repair what the check finds")
    parser.add_argument(
        "--grace",
        type=float,
        default=DEFAULT_GRACE,
        help="leave files younger than this many seconds alone: they may belong to an upload "
        f"in flight (default {DEFAULT_GRACE:g}; 0 when the app is stopped)",
    )
    args = parser.parse_args(argv)
    settings = settings_or_none("imagehost check")
    if settings is None:
        return 2
    logger.remove()  # the embedded database's start-up line is not this command's output
    try:
        with database_for(settings, reuse_running=True) as settings:
            return asyncio.run(_check(settings, args.fix, args.grace))
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
        for line in await repair(ctx.repo, ctx.storage, report, ctx.uploads.executor):
            print(f"fixed: {line}")
        after = await check_consistency(ctx.repo, ctx.storage, grace=grace)
        print(f"after the repair: {after.summary()}")
        return 0 if after.ok else 1


def cli(argv: list[str]) -> int:
    command, args = (argv[0], argv[1:]) if argv else ("serve", [])
    files = [a for a in args if a != "--replace"]
    if command == "serve" and not args:
        return main()
    if command == "check":
        return check(args)
    if command == "backup" and not args:
        return run_backup()
    if command == "restore" and len(files) == 1 and len(args) - len(files) <= 1:
        return run_restore(files[0], replace="--replace" in args)
    if command == "hash-password" and not args:
        return hash_password_command()
    print(USAGE, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(cli(sys.argv[1:]))
