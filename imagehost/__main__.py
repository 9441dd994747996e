"""Command line: `python -m imagehost [serve | check | backup | restore FILE | hash-password |
s3-setup | migrate-storage --to s3]`."""

import argparse
import sys

from .commands import (
    hash_password_command,
    run_backup,
    run_check,
    run_migrate,
    run_restore,
    run_s3_setup,
)
from .consistency import DEFAULT_GRACE
from .server import main


def parser() -> argparse.ArgumentParser:
    """The one parser of every command; each sets `run`, called with the parsed arguments."""
    top = argparse.ArgumentParser(prog="python -m imagehost")
    top.set_defaults(run=lambda args: main())
    commands = top.add_subparsers(title="commands", metavar="COMMAND")
    commands.add_parser("serve", help="run the app (the default)")
    check = commands.add_parser(
        "check",
        help="report (and repair) files without records and records without files",
        description=run_check.__doc__,
    )
    check.add_argument("--fix", action="store_true", help="repair what the check finds")
    check.add_argument(
        "--grace",
        type=float,
        default=DEFAULT_GRACE,
        help="leave files younger than this many seconds alone: they may belong to an upload "
        f"in flight (default {DEFAULT_GRACE:g}; 0 when the app is stopped)",
    )
    check.set_defaults(run=lambda args: run_check(args.fix, args.grace))
    backup = commands.add_parser(
        "backup", help="write a backup to BACKUP_DIR now (for cron); prints its path"
    )
    backup.set_defaults(run=lambda args: run_backup())
    restore = commands.add_parser(
        "restore", help="restore a backup (or a mongodump --archive file)"
    )
    restore.add_argument("file", metavar="FILE", help="a backup or a mongodump --archive[.gz] file")
    restore.add_argument(
        "--replace",
        action="store_true",
        help="replace records and files that differ from the backup's",
    )
    restore.set_defaults(run=lambda args: run_restore(args.file, replace=args.replace))
    hashing = commands.add_parser(
        "hash-password", help="print an argon2 hash for ADMIN_PASSWORD_HASH (reads stdin)"
    )
    hashing.set_defaults(run=lambda args: hash_password_command())
    s3_setup = commands.add_parser(
        "s3-setup",
        help="set the bucket policy that lets nginx read the images prefix (STORAGE=s3)",
        description=run_s3_setup.__doc__,
    )
    s3_setup.add_argument(
        "--reader-ip",
        default="",
        help="allow anonymous reads only from this address or CIDR (nginx's, as the store "
        "sees it), where the server supports aws:SourceIp conditions",
    )
    s3_setup.set_defaults(run=lambda args: run_s3_setup(args.reader_ip))
    migrate = commands.add_parser(
        "migrate-storage",
        help="copy IMAGES_DIR's files into the bucket (resumable, each object verified)",
        description=run_migrate.__doc__,
    )
    migrate.add_argument("--to", choices=["s3"], required=True, help="the storage to copy into")
    migrate.set_defaults(run=lambda args: run_migrate())
    return top


def cli(argv: list[str]) -> int:
    """Run the command `argv` names; exit status 2 (after the usage) when it is misused."""
    try:
        args = parser().parse_args(argv)
    except SystemExit as exc:  # argparse has printed the usage, or the help
        return exc.code if isinstance(exc.code, int) else 2
    return args.run(args)


if __name__ == "__main__":
    sys.exit(cli(sys.argv[1:]))
