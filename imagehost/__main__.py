"""Command line: `python -m imagehost [serve]`."""

import sys

from .server import main

USAGE = "usage: python -m imagehost [serve]"


def cli(argv: list[str]) -> int:
    command = argv[0] if argv else "serve"
    if command == "serve":
        return main()
    print(USAGE, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(cli(sys.argv[1:]))
