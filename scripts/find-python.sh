#!/bin/sh
# Print the path of a Python >= 3.12 interpreter: PYTHON if set, then python3.13/3.12/python3
# on PATH, then pyenv's installed versions. Exit 1 with advice when there is none.
ok() { "$1" -c 'import sys, venv; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; }
for candidate in "${PYTHON:-}" python3.14 python3.13 python3.12 python3; do
    [ -n "$candidate" ] || continue
    path=$(command -v "$candidate" 2>/dev/null) || continue
    # pyenv shims answer for whatever version is selected; ask the interpreter itself.
    real=$(PYENV_VERSION= "$path" -c 'import sys; print(sys.executable)' 2>/dev/null) || continue
    if ok "$real"; then echo "$real"; exit 0; fi
done
root=$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")
for version in $(ls "$root/versions" 2>/dev/null | grep -E '^3\.(1[2-9]|[2-9][0-9])\.[0-9]+$' | sort -t. -k1,1n -k2,2n -k3,3n -r); do
    if ok "$root/versions/$version/bin/python3"; then echo "$root/versions/$version/bin/python3"; exit 0; fi
done
echo "no Python 3.12 or newer found: install one (e.g. 'pyenv install 3.12' or your distribution's python3.12) or set PYTHON=/path/to/python3.12" >&2
exit 1
