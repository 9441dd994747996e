"""Command line: `python -m imagehost [serve | check | backup | restore FILE | hash-password]`."""

import sys

from .commands import hash_password_command, run_backup, run_check, run_restore
from .server import main

USAGE = """usage: python -m imagehost [COMMAND]

commands:
  serve                     run the app (the default)
  check [--fix] [--grace SECONDS]
                            report (and repair) files without records and records without files
  backup                    write a backup to BACKUP_DIR now (for cron); prints its path
  restore FILE [--replace]  restore a backup (or a mongodump --archive file); --replace
                            replaces records and files that differ from the backup's
  hash-password             print an argon2 hash for ADMIN_PASSWORD_HASH (reads stdin)"""


def cli(argv: list[str]) -> int:
    command, args = (argv[0], argv[1:]) if argv else ("serve", [])
    files = [a for a in args if a != "--replace"]
    if command == "serve" and not args:
        return main()
    if command == "check":
        return run_check(args)
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
