"""Profile the app under upload load with py-spy: where the upload pipeline spends its time.

`python -m bench.profile_upload`: the real stack, wrk uploading a JPEG (with --image screenshot,
a PNG) at concurrency 8, and py-spy sampling every app process (supervisor and workers; not the
database) meanwhile.
Prints the functions with the most samples, inclusive and self, summed over all threads.
"""

import argparse
import subprocess
import sys
from collections import Counter
from pathlib import Path

from bench.common import (
    MIB,
    Load,
    app_stack,
    bench_image,
    require_tools,
    scratch,
    upload_body,
    wait_settled,
)

# Leaf frames of threads that wait (for work, a socket, a pipe): sampled by --idle, not cost.
IDLE = (
    "EpollSelector.select (", "_worker (concurrent", "Connection._recv (multiprocessing",
    "EmbeddedMongo.start.<locals>.watch (", "wait (threading.py", "Condition.wait (",
    "supervise (imagehost/supervisor.py)",
)  # fmt: skip
# Frames every stack passes through (thread and event-loop start-up): left out of "inclusive".
PLUMBING = ("threading.py)", "concurrent/futures/", "asyncio/", "<frozen runpy>", "__main__.py)",
            "(imagehost/server.py)", "(imagehost/supervisor.py)", "tornado/ioloop.py",
            "<string>")  # fmt: skip
# --image: (pixel size, largest file size (None: a screenshot PNG))
IMAGES = {
    "4mb": ((4000, 3000), 4 * MIB),
    "100kb": ((1024, 768), 100_000),
    "screenshot": ((1920, 1080), None),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--image", choices=IMAGES, default="4mb")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", default=None)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--quick", action="store_true", help="a tiny run (the smoke test)")
    args = parser.parse_args()
    size, max_bytes = IMAGES[args.image]
    if args.quick:
        size, max_bytes = (size[0] // 8, size[1] // 8), max_bytes and max_bytes // 16
        args.seconds, args.top = 2, 5
    require_tools()
    body, ctype = upload_body(*bench_image(size, max_bytes))
    env = {} if args.workers is None else {"WORKERS": str(args.workers)}
    with scratch("profile") as var, app_stack(var / "app", env) as stack:
        wait_settled()
        raw = var / "py-spy-stacks.txt"
        load = Load(
            f"{stack.url}/upload", connections=args.concurrency, seconds=args.seconds + 1,
            body=body, content_type=ctype, expect=201,
        )  # fmt: skip
        spy = [
            str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(stack.app.pid),
            "--subprocesses", "--idle", "--nonblocking", "--format", "raw", "--rate", "200",
            "--duration", str(round(args.seconds)), "--output", str(raw),
        ]  # fmt: skip
        subprocess.run(spy, check=True, capture_output=True)
        result = load.result().check("upload load")
        stacks = parse_raw(raw.read_text())
    total = sum(stacks.values())
    busy = {s: n for s, n in stacks.items() if not s[-1].startswith(IDLE)}
    busy_total = sum(busy.values())
    print(
        f"\n{result.ok} uploads of {len(body) / 1000:,.0f} kB at {result.rate:.1f}/s; "
        f"{total} samples of the app's threads, {busy_total} busy ({busy_total / total:.0%}); "
        f"shares below are of the busy samples\n"
    )
    work = Counter({f: n for f, n in inclusive(busy).items() if not any(p in f for p in PLUMBING)})
    print_top("inclusive (a function and what it calls)", work, busy_total, args.top)
    print_top("self (the function's own frame)", own(busy), busy_total, args.top)


def parse_raw(text: str) -> Counter:
    """py-spy's raw format, `frame;frame;... count`, root first; line numbers dropped."""
    stacks: Counter = Counter()
    for line in text.splitlines():
        frames, _, count = line.rpartition(" ")
        if not frames or not count.isdigit():
            continue  # a piece of a command line that holds newlines (the database's launcher)
        if "nx_27017" in frames:
            continue  # the embedded database is a separate server, not the app
        # --subprocesses puts "process <pid>:<command>" frames at the root of each stack.
        names = [_function(f) for f in frames.split(";") if not f.startswith("process ")]
        if names:
            stacks[tuple(names)] += int(count)
    return stacks


def _function(frame: str) -> str:
    # "decode (PIL/ImageFile.py:123)" -> "decode (PIL/ImageFile.py)"
    name, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    for marker in ("site-packages/", "lib/python3.12/", "/work/"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{name} ({path})"


def inclusive(stacks: Counter) -> Counter:
    counts: Counter = Counter()
    for frames, n in stacks.items():
        for frame in set(frames):
            counts[frame] += n
    return counts


def own(stacks: Counter) -> Counter:
    counts: Counter = Counter()
    for frames, n in stacks.items():
        counts[frames[-1]] += n
    return counts


def print_top(title: str, counts: Counter, total: int, top: int) -> None:
    print(f"{title}:")
    for frame, n in counts.most_common(top):
        print(f"  {n / total:6.1%}  {frame}")
    print()


if __name__ == "__main__":
    main()
