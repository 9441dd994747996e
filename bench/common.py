"""What the benchmarks share: the stacks they start, the wrk load generator, RSS, tables.

Every benchmark runs the real stack as `make run` starts it (imagehost.dev.devstack.LocalStack:
app + embedded nx-27017 + nginx with the project's config) on free loopback ports.
"""

import argparse
import io
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from imagehost.dev.devstack import LocalStack
from tests.images import multipart
from tests.stack import UNLIMITED, start_stack

ROOT = Path(__file__).resolve().parent.parent
LOAD_SCRIPT = Path(__file__).resolve().parent / "load.lua"
MIB = 1024 * 1024


# -- images ----------------------------------------------------------------------------------


def photo_jpeg(size: tuple[int, int], max_bytes: int) -> bytes:
    """A photo-like JPEG (smooth colour fields plus grain) of `size`, as close under
    `max_bytes` as a JPEG quality between 40 and 98 gets it: decoding it costs what a real
    photo of that size costs, unlike a flat colour or pure noise."""
    width, height = size
    coarse = Image.effect_noise((max(2, width // 64), max(2, height // 64)), 80)
    field = coarse.resize(size, Image.Resampling.BICUBIC)
    gradient = Image.linear_gradient("L").resize(size)
    grain = Image.effect_noise(size, 30)
    image = Image.merge(
        "RGB",
        (
            Image.blend(field, gradient, 0.5),
            Image.blend(field, grain, 0.5),
            Image.blend(gradient.transpose(Image.Transpose.FLIP_LEFT_RIGHT), grain, 0.5),
        ),
    )
    best = b""
    low, high = 40, 98
    while low <= high:
        quality = (low + high) // 2
        out = io.BytesIO()
        image.save(out, "JPEG", quality=quality)
        if out.tell() <= max_bytes:
            best, low = out.getvalue(), quality + 1
        else:
            high = quality - 1
    if not best:
        raise ValueError(f"no JPEG of {size} fits in {max_bytes} bytes")
    return best


def screenshot_png(size: tuple[int, int] = (1920, 1080)) -> bytes:
    """A screenshot-like PNG, what ShareX and Flameshot upload most: flat panels (title bar,
    sidebar, editor, status bar) and lines of anti-aliased text in a few colours. It encodes
    like a real screenshot (long flat runs, sharp edges), unlike noise or a photo; the same
    bytes every time."""
    width, height = size
    rng = random.Random(1080)
    image = Image.new("RGB", size, (250, 250, 250))
    draw = ImageDraw.Draw(image)
    bar, side, status = height // 30, width // 6, height // 40
    draw.rectangle((0, 0, width, bar), fill=(45, 45, 48))
    draw.rectangle((0, bar, side, height), fill=(37, 37, 38))
    draw.rectangle((0, height - status, width, height), fill=(0, 122, 204))
    font = ImageFont.load_default(size=max(8, height // 72))
    line = font.size * 3 // 2
    letters = "abcdefghijklmnopqrstuvwxyz_(){}=.:"
    columns = ((8, side - 8, (204, 204, 204)), (side + 40, width - 40, (30, 30, 30)))
    for left, right, ink in columns:
        chars = (right - left) // (font.size // 2 + 1)
        for top in range(bar + line // 2, height - status - line, line):
            words = [
                "".join(rng.choices(letters, k=rng.randrange(2, 12)))
                for _ in range(rng.randrange(0, max(1, chars // 7)))
            ]
            text = " " * rng.randrange(0, 12, 4) + " ".join(words)
            colour = ink if rng.random() < 0.7 else (rng.randrange(256), 90, 160)
            draw.text((left, top), text[:chars], fill=colour, font=font)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def bench_image(size: tuple[int, int], max_bytes: int | None) -> tuple[bytes, str]:
    """A benchmark's image and its file name: a photo-like JPEG of at most `max_bytes`, or
    with `max_bytes` None a screenshot PNG."""
    if max_bytes is None:
        return screenshot_png(size), "screenshot.png"
    return photo_jpeg(size, max_bytes), "photo.jpg"


def upload_body(data: bytes, filename: str = "photo.jpg") -> tuple[bytes, str]:
    """The multipart body and Content-Type a browser or curl would send for `data`."""
    return multipart([("file", filename, data)], boundary="bench-boundary-7d1f")


# -- the stacks ------------------------------------------------------------------------------


def require_tools() -> None:
    """wrk and nginx from Debian, installed through scripts/system-deps.sh when missing."""
    if shutil.which("wrk") and (shutil.which("nginx") or Path("/usr/sbin/nginx").exists()):
        return
    subprocess.run([str(ROOT / "scripts" / "system-deps.sh"), "nginx", "wrk"], check=True)


@contextmanager
def scratch(prefix: str) -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix=f"imagehost-bench-{prefix}-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# Every request of a benchmark comes from 127.0.0.1: nginx's per-address limits (UNLIMITED,
# the tests' own) are lifted, for the baseline too, which shares the config.


@contextmanager
def app_stack(var: Path, env: dict | None = None) -> Iterator[LocalStack]:
    """The real stack (app + embedded database + nginx) with its state under `var`."""
    settings = {
        "VAR_DIR": str(var), "MONGODB_URI": "", "COOKIE_SECRET": "bench-" + "s" * 40, **UNLIMITED,
    }  # fmt: skip
    with start_stack({**settings, **(env or {})}, output=var / "logs" / "processes.log") as stack:
        yield stack


@contextmanager
def baseline_stack(var: Path, env: dict | None = None) -> Iterator[LocalStack]:
    """bench/baseline_app.py behind the same nginx config, with the same WORKERS."""
    with start_stack(
        {"VAR_DIR": str(var), **UNLIMITED, **(env or {})},
        app_command=[sys.executable, "-m", "bench.baseline_app"],
        output=var / "logs" / "processes.log",
    ) as stack:
        yield stack


def upload(stack: LocalStack, data: bytes) -> dict:
    """One upload through nginx; the app's JSON answer."""
    body, ctype = upload_body(data)
    request = urllib.request.Request(
        f"{stack.url}/upload", data=body, method="POST",
        headers={"Content-Type": ctype, "Accept": "application/json"},
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def clear_images(stack: LocalStack) -> None:
    """Remove uploaded files between runs so a long benchmark does not fill the disk."""
    for path in stack.settings.images_dir.iterdir():
        if path.is_file():
            # A file listed here may be an upload's temp file, gone by the time it is reached.
            path.unlink(missing_ok=True)


# -- load ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoadResult:
    ok: int
    failed: int
    other_status: str
    seconds: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    mean_ms: float
    socket_errors: int
    timeouts: int

    @property
    def rate(self) -> float:
        """Successful requests per second."""
        return self.ok / self.seconds if self.seconds else 0.0

    def check(self, what: str) -> "LoadResult":
        if self.ok == 0 or self.failed or self.socket_errors or self.timeouts:
            raise RuntimeError(
                f"{what}: {self.ok} ok, {self.failed} failed (last status {self.other_status}), "
                f"{self.socket_errors} socket errors, {self.timeouts} timeouts"
            )
        return self


class Load:
    """One wrk process (the load runs outside this one) for `seconds`."""

    def __init__(
        self,
        url: str,
        *,
        connections: int,
        seconds: float,
        body: bytes | None = None,
        content_type: str = "",
        expect: int = 200,
        headers: dict | None = None,
    ) -> None:
        self._body_file = None
        env = {**os.environ, "BENCH_EXPECT": str(expect)}
        if body is not None:
            self._body_file = tempfile.NamedTemporaryFile(prefix="imagehost-bench-body-")
            self._body_file.write(body)
            self._body_file.flush()
            env.update(BENCH_BODY=self._body_file.name, BENCH_CONTENT_TYPE=content_type)
        command = [
            "wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "60s",
            "-s", str(LOAD_SCRIPT), url,
        ]  # fmt: skip
        for name, value in (headers or {}).items():
            command += ["-H", f"{name}: {value}"]
        self.process = subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )

    def result(self) -> LoadResult:
        output, _ = self.process.communicate(timeout=600)
        if self._body_file is not None:
            self._body_file.close()
        for line in output.splitlines():
            if line.startswith("BENCH "):
                return LoadResult(**json.loads(line[6:]))
        raise RuntimeError(f"wrk gave no result (exit {self.process.returncode}):\n{output}")


def run_load(url: str, **kwargs) -> LoadResult:
    return Load(url, **kwargs).result()


KEYSET_COLUMNS = ["page 1 req/s", "p50 ms", "p99 ms", "page {deep} req/s", "p50 ms", "p99 ms"]


def first_and_deep(
    first_url: str, deep_url: str, deep: int, seconds: float, headers: dict, target: float
) -> list[list]:
    """Page 1 against page `deep` of a keyset-paged list, one client, two runs alternating:
    each row is the run, both pages' rate, p50 and p99, the ratio of p50s and its verdict."""
    rows = []
    for attempt in (1, 2):
        first = run_load(first_url, connections=1, seconds=seconds, headers=headers)
        deeper = run_load(deep_url, connections=1, seconds=seconds, headers=headers)
        first.check("page 1"), deeper.check(f"page {deep}")
        ratio = deeper.p50_ms / first.p50_ms
        rows.append([
            attempt, first.rate, first.p50_ms, first.p99_ms,
            deeper.rate, deeper.p50_ms, deeper.p99_ms, f"{ratio:.2f}",
            "holds" if ratio <= target else "MISSED",
        ])  # fmt: skip
    return rows


def keyset_columns(deep: int, target: float) -> list[str]:
    columns = [c.format(deep=deep) for c in KEYSET_COLUMNS]
    return ["run", *columns, "ratio of p50", f"target <= {target}"]


# -- memory ----------------------------------------------------------------------------------


def process_tree(root: int) -> list[int]:
    """`root` and all its descendants, from /proc."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(parents.get(pid, []))
    return found


def cpu_seconds(pids: list[int]) -> float:
    """User plus system CPU time the processes `pids` have used so far (gone ones count 0)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / os.sysconf("SC_CLK_TCK")


def rss_bytes(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def is_database(pid: int) -> bool:
    try:
        return b"nx_27017" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


class PeakRss:
    """Samples the summed RSS of the app's processes (supervisor and workers; the embedded
    database, a child of the app, is counted apart) every `interval` seconds."""

    def __init__(self, root: int, interval: float = 0.02) -> None:
        self.root = root
        self.interval = interval
        self.app_peak = 0
        self.db_peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            app = db = 0
            for pid in process_tree(self.root):
                if is_database(pid):
                    db += rss_bytes(pid)
                else:
                    app += rss_bytes(pid)
            self.app_peak = max(self.app_peak, app)
            self.db_peak = max(self.db_peak, db)
            self._stop.wait(self.interval)

    def __enter__(self) -> "PeakRss":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


# -- command line and output -------------------------------------------------------------------


def arguments(
    description: str,
    seconds: float,
    images: dict | None = None,
    extra: Callable[[argparse.ArgumentParser], None] | None = None,
) -> argparse.Namespace:
    """--seconds per measurement, --quick (a tiny run: the smoke test), --workers, with
    `images` (the benchmark's images by name) --image to measure some of them (default: all),
    and whatever options `extra` adds to the parser.

    --quick makes each run 1 s; each benchmark also shrinks its images and concurrency then."""
    parser = argparse.ArgumentParser(description=description)
    if extra is not None:
        extra(parser)
    parser.add_argument("--seconds", type=float, default=seconds, help="length of each run")
    parser.add_argument(
        "--quick", action="store_true", help="a tiny run that only checks the benchmark works"
    )
    parser.add_argument(
        "--workers", default=None, help="WORKERS for the app and the baseline (default: theirs)"
    )
    if images:
        parser.add_argument(
            "--image", action="append", choices=images, help="an image to measure (repeatable)"
        )
    args = parser.parse_args()
    if images and not args.image:
        args.image = list(images)
    if args.quick:
        args.seconds = 1
    return args


def worker_env(args: argparse.Namespace) -> dict:
    return {} if args.workers is None else {"WORKERS": str(args.workers)}


def print_table(title: str, headers: list[str], rows: list[list]) -> None:
    """A Markdown table, ready for README.md."""
    print(f"\n### {title}\n")
    print("| " + " | ".join(headers) + " |")
    print("|" + "|".join(" --- " for _ in headers) + "|")
    for row in rows:
        print("| " + " | ".join(_cell(value) for value in row) + " |")
    print(flush=True)


def _cell(value) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}" if value < 100 else f"{value:,.0f}"
    return str(value)


def median(values: list[float]) -> float:
    return statistics.median(values)


def wait_settled(seconds: float = 0.5) -> None:
    """A short pause between runs, so one run's tail is not counted in the next."""
    time.sleep(seconds)
