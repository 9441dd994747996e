"""Command line: `python -m imagehost [serve]` and `python -m imagehost check [--fix]`."""

import argparse
import asyncio
import sys

from loguru import logger

from .consistency import DEFAULT_GRACE, check_consistency, repair
from .database import DatabaseUnavailable
from .server import build_context, database_for, main, settings_or_none

USAGE = "usage: python -m imagehost [serve | check [--fix] [--grace SECONDS]]"


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
        with database_for(settings) as settings:
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
    command = argv[0] if argv else "serve"
    if command == "serve":
        return main()
    if command == "check":
        return check(argv[1:])
    print(USAGE, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(cli(sys.argv[1:]))
