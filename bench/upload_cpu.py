"""Benchmark: CPU per upload in every process (app, nginx, database, wrk), checkouts side by side.

`python -m bench.upload_cpu --tree /tmp/before --tree .`: each checkout's own stack (its
`python -m imagehost.dev.devstack`, as `make run` starts it), warmed up, then uploads at
concurrency 8 to each in turn (A, B, A, B...), reading every process's user+system time from
/proc before and after each run. With one tree (the default: this checkout) it just accounts.

`--owner-images 0,1000,10000`: what the quotas cost. On the first tree's stack, in turn:
anonymous uploads, uploads with an API token of a role-user account whose quotas the admin
lifted (0: no limit; signed in, no aggregate), and with a token of one under the default quotas
(its checks run the usage aggregates), each account storing each number of images.
"""

import asyncio
import os
import random
import signal
import subprocess
import time
import urllib.request
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pymongo import AsyncMongoClient, MongoClient

from bench.common import (
    MIB,
    ROOT,
    UNLIMITED,
    Load,
    arguments,
    bench_image,
    cpu_seconds,
    median,
    print_table,
    process_tree,
    require_tools,
    scratch,
    upload_body,
    wait_settled,
)
from imagehost.accounts.tokens import TokenStore
from imagehost.accounts.users import User, UserRepository, new_user_id
from imagehost.database import millis
from imagehost.dev.devstack import free_port
from imagehost.embedded import running_embedded_uri
from imagehost.uploads import new_stem
from tests.records import image_record

IMAGES = {
    "screenshot": ((1920, 1080), None),
    "100kb": ((1024, 768), 100_000),
    "4mb": ((4000, 3000), 4 * MIB),
}
KINDS = ("app", "nginx", "database", "wrk")
# The quota case's stack: the default QUOTA_BYTES (5G), and a daily limit that is a limit (so
# its aggregate runs, as under the default 500) but lets every upload of a run in.
QUOTA_ENV = {"QUOTA_IMAGES_PER_DAY": "100000000"}
# The images an account stores were uploaded over this many days before the run (the daily
# quota's aggregate reads the owner's records, then keeps the last 24 hours'), 100 kB each.
STORED_DAYS = 60
STORED_SIZE = 100_000


@dataclass
class TreeStack:
    """One checkout's stack: its devstack process and the ports it serves on."""

    tree: Path
    var: Path
    process: subprocess.Popen
    url: str

    @classmethod
    def start(
        cls, tree: Path, var: Path, workers: str | None, extra: dict | None = None
    ) -> "TreeStack":
        app_port, http_port = free_port(), free_port()
        env = {
            **os.environ, **UNLIMITED, "VAR_DIR": str(var), "MONGODB_URI": "",
            "COOKIE_SECRET": "bench-" + "s" * 40, "APP_PORT": str(app_port),
            "HTTP_PORT": str(http_port), **(extra or {}),
        }  # fmt: skip
        if workers is not None:
            env["WORKERS"] = workers
        var.mkdir(parents=True)
        log = (var / "devstack.log").open("ab")
        process = subprocess.Popen(
            [str(tree / ".venv" / "bin" / "python"), "-m", "imagehost.dev.devstack"],
            cwd=tree, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
            start_new_session=True,
        )  # fmt: skip
        log.close()
        stack = cls(tree, var, process, f"http://127.0.0.1:{http_port}")
        stack.wait_ready(90)
        return stack

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                log = (self.var / "devstack.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"the stack of {self.tree} exited:\n{log}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=1):
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"the stack of {self.tree} did not answer within {timeout:.0f} s")

    def cpu_ms(self) -> dict[str, float]:
        """User+system CPU so far of the stack's processes, by kind (the devstack apart)."""
        totals: dict[str, float] = defaultdict(float)
        for pid in process_tree(self.process.pid):
            if pid == self.process.pid:
                continue
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue  # ended meanwhile
            totals[_kind(cmdline)] += cpu_seconds([pid]) * 1000
        return totals

    def clear_images(self) -> None:
        for path in (self.var / "images").iterdir():
            if path.is_file():
                path.unlink(missing_ok=True)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # devstack stops its stack, then exits
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def _kind(cmdline: bytes) -> str:
    if b"nx_27017" in cmdline:
        return "database"
    if b"nginx" in cmdline:
        return "nginx"
    return "app"


@dataclass(frozen=True)
class Run:
    rate: float
    ok: int
    load: float
    per_upload: dict[str, float]  # CPU ms per successful upload, by kind

    @property
    def total(self) -> float:
        return sum(self.per_upload.values())


def measure(
    stack: TreeStack, body: bytes, ctype: str, concurrency: int, seconds: float,
    headers: dict | None = None,
) -> Run:  # fmt: skip
    load_average = os.getloadavg()[0]
    before, children = stack.cpu_ms(), os.times()
    result = Load(
        f"{stack.url}/upload", connections=concurrency, seconds=seconds,
        body=body, content_type=ctype, expect=201, headers=headers,
    ).result().check(f"upload to {stack.tree}")  # fmt: skip
    after, waited = stack.cpu_ms(), os.times()
    used = {kind: after.get(kind, 0) - before.get(kind, 0) for kind in KINDS[:-1]}
    # wrk is our child: its CPU time joins ours once it has been waited for.
    used["wrk"] = 1000 * (
        waited.children_user + waited.children_system - children.children_user
        - children.children_system
    )  # fmt: skip
    stack.clear_images()
    wait_settled()
    per_upload = {kind: ms / result.ok for kind, ms in used.items()}
    return Run(result.rate, result.ok, load_average, per_upload)


def main() -> None:
    args = arguments(__doc__, seconds=8, images=IMAGES, extra=_options)
    require_tools()
    if args.owner_images is not None:
        quota_case(args)
        return
    trees = [Path(tree).resolve() for tree in args.tree or [ROOT]]
    rounds, concurrency = (1, 2) if args.quick else (args.rounds, args.concurrency)
    rows, summary = [], []
    with scratch("upload-cpu") as var:
        stacks: list[TreeStack] = []
        try:
            for index, tree in enumerate(trees):
                stacks.append(TreeStack.start(tree, var / f"tree{index}", args.workers))
            for name in args.image:
                size, max_bytes = IMAGES[name]
                if args.quick:
                    size, max_bytes = (size[0] // 8, size[1] // 8), max_bytes and max_bytes // 16
                data, filename = bench_image(size, max_bytes)
                body, ctype = upload_body(data, filename)
                label = f"{filename} ({len(data) / 1000:,.0f} kB, {size[0]}x{size[1]})"
                for stack in stacks:  # warm up: imports, connections, caches
                    measure(stack, body, ctype, concurrency, min(2, args.seconds))
                runs: dict[Path, list[Run]] = defaultdict(list)
                for number in range(rounds):
                    for stack in stacks if number % 2 == 0 else stacks[::-1]:
                        run = measure(stack, body, ctype, concurrency, args.seconds)
                        runs[stack.tree].append(run)
                        rows.append(_row(label, stack.tree, number + 1, run))
                for tree in trees:
                    summary.append(_summary(label, tree, runs[tree], runs[trees[0]]))
        finally:
            for stack in stacks:
                stack.stop()
    columns = ["image", "tree", "run", "load avg", "uploads/s", *(f"{k} ms" for k in KINDS)]
    print_table(
        f"CPU per upload at concurrency {concurrency} ({args.seconds:g} s per run)",
        [*columns, "total ms"], rows,
    )  # fmt: skip
    print_table(
        "Medians per tree (ratios against the first tree)",
        ["image", "tree", "uploads/s", "x rate", *(f"{k} ms" for k in KINDS), "total ms", "x CPU"],
        summary,
    )  # fmt: skip


def _options(parser) -> None:
    parser.add_argument(
        "--tree", action="append", help="a checkout with its .venv (repeatable; default: this one)"
    )
    parser.add_argument("--rounds", type=int, default=3, help="runs per tree, alternating")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument(
        "--owner-images", default=None,
        help="the quota case: anonymous against token uploads, the token's account storing each "
        "of these numbers of images (comma-separated: 0,1000,10000)",
    )  # fmt: skip


def _row(label: str, tree: Path, number: int, run: Run) -> list:
    cpu = [round(run.per_upload[kind], 2) for kind in KINDS]
    return [label, _short(tree), number, f"{run.load:.2f}", run.rate, *cpu, round(run.total, 2)]


def _summary(label: str, tree: Path, runs: list[Run], first: list[Run]) -> list:
    rate, first_rate = median([r.rate for r in runs]), median([r.rate for r in first])
    cpu = [round(median([r.per_upload[kind] for r in runs]), 2) for kind in KINDS]
    total, first_total = median([r.total for r in runs]), median([r.total for r in first])
    return [
        label, _short(tree), rate, f"{rate / first_rate:.2f}", *cpu, round(total, 2),
        f"{first_total / total:.2f}",
    ]  # fmt: skip


# -- the quota case ---------------------------------------------------------------------------


class Account:
    """A role-user account and its API token, made in the stack's database as the app makes
    them: with no quota override (the defaults apply), or with `limits` its override of both
    (0: none). `fill` stores images in its name (records only: the quota checks read nothing
    else); `trim` forgets what the runs uploaded, every account's."""

    def __init__(self, stack: TreeStack, name: str, limits: int | None = None) -> None:
        self.uri = running_embedded_uri(stack.var / "db")
        if not self.uri:
            raise RuntimeError(f"no embedded database answers for {stack.var}")
        self.db, self.name, self.limits = "imagehost", name, limits
        self.owner, self.token = asyncio.run(self._make())
        self.client = MongoClient(self.uri)
        self.images = self.client[self.db]["images"]
        self.stored = 0
        # Everything uploaded from now on is a run's; what `fill` stores is older.
        self.since_ms = millis(datetime.now(UTC))

    async def _make(self) -> tuple[str, str]:
        client = AsyncMongoClient(self.uri)
        try:
            # No password: it signs in by its token only.
            user = User(
                new_user_id(), self.name, "", quota_bytes=self.limits,
                quota_images_per_day=self.limits,
            )  # fmt: skip
            await UserRepository(client, self.db).insert(user)
            raw, _ = await TokenStore(client, self.db).create(user.id, "bench")
        finally:
            await client.close()
        return user.owner, raw

    @property
    def headers(self) -> dict:
        return {"Authorization": f"Bearer {self.token}"}

    def fill(self, count: int) -> None:
        """Store images in the account's name until it has `count`."""
        now, rng = datetime.now(UTC), random.Random(count)
        while self.stored < count:
            batch = [
                image_record(
                    new_stem() + ".jpg", owner=self.owner, size=STORED_SIZE,
                    created_at=now - timedelta(days=STORED_DAYS * rng.random(), minutes=1),
                ).to_document()
                for _ in range(min(1000, count - self.stored))
            ]  # fmt: skip
            self.images.insert_many(batch)
            self.stored += len(batch)

    def trim(self) -> None:
        self.images.delete_many({"created_ms": {"$gte": self.since_ms}})

    def close(self) -> None:
        self.client.close()


def quota_case(args) -> None:
    levels = [int(level) for level in args.owner_images.split(",")]
    trees = [Path(tree).resolve() for tree in args.tree or [ROOT]]
    name = args.image[0] if len(args.image) < len(IMAGES) else "100kb"
    size, max_bytes = IMAGES[name]
    rounds, concurrency = (2, 2) if args.quick else (args.rounds, args.concurrency)
    if args.quick:
        size, max_bytes = (size[0] // 8, size[1] // 8), max_bytes and max_bytes // 16
    data, filename = bench_image(size, max_bytes)
    body, ctype = upload_body(data, filename)
    rows, summary = [], []
    with scratch("upload-quota") as var:
        stacks: list[TreeStack] = []
        try:
            for index, tree in enumerate(trees):
                stacks.append(TreeStack.start(tree, var / f"tree{index}", args.workers, QUOTA_ENV))
            # Each tree's three cases: anonymous, a token without limits, one with the defaults.
            plans = []
            for stack in stacks:
                lifted, limited = Account(stack, "lifted", 0), Account(stack, "limited")
                cases = {"anonymous": None, "no quota": lifted.headers, "quotas": limited.headers}
                plans += [
                    (stack, (lifted, limited), case, headers) for case, headers in cases.items()
                ]
            for level in levels:
                for stack, accounts, case, headers in plans:
                    if case == "anonymous":
                        accounts[0].fill(level), accounts[1].fill(level)
                    # Warm up (imports, connections, caches); just after a fill, a loaded machine
                    # may finish no upload in it, which is no failure.
                    Load(
                        f"{stack.url}/upload", connections=concurrency, seconds=2, body=body,
                        content_type=ctype, expect=201, headers=headers,
                    ).result()  # fmt: skip
                    stack.clear_images()
                    accounts[1].trim()  # each account stores `level` images again
                runs: dict[tuple, list[Run]] = defaultdict(list)
                for number in range(rounds):
                    for stack, accounts, case, headers in plans[:: 1 if number % 2 == 0 else -1]:
                        run = measure(stack, body, ctype, concurrency, args.seconds, headers)
                        accounts[1].trim()
                        runs[stack.tree, case].append(run)
                        rows.append(_quota_row(level, stack.tree, case, number + 1, run))
                for tree in trees:
                    cases = {case: found for (of, case), found in runs.items() if of == tree}
                    summary.append(_quota_summary(level, tree, cases))
            for _, accounts, case, _ in plans:
                if case == "anonymous":
                    accounts[0].close(), accounts[1].close()
        finally:
            for stack in stacks:
                stack.stop()
    label = f"{filename} ({len(data) / 1000:,.0f} kB, {size[0]}x{size[1]})"
    print_table(
        f"Quota checks: CPU per upload of {label} at concurrency {concurrency} "
        f"({args.seconds:g} s per run)",
        ["account's images", "tree", "upload", "run", "load avg", "uploads/s", "app ms",
         "database ms", "app+db ms", "all ms"],
        rows,
    )  # fmt: skip
    print_table(
        "Medians: what the quota checks add to a token upload (quotas against no quota)",
        ["account's images", "tree", "uploads/s: anonymous", "no quota", "quotas",
         "app+db ms: anonymous", "no quota", "quotas", "quotas add ms", "quotas add",
         "load avg"],
        summary,
    )  # fmt: skip


def _app_db(run: Run) -> float:
    return run.per_upload["app"] + run.per_upload["database"]


def _quota_row(level: int, tree: Path, case: str, number: int, run: Run) -> list:
    cpu = [round(run.per_upload[kind], 2) for kind in ("app", "database")]
    return [
        f"{level:,}", _short(tree), case, number, f"{run.load:.2f}", run.rate, *cpu,
        round(_app_db(run), 2), round(run.total, 2),
    ]  # fmt: skip


def _quota_summary(level: int, tree: Path, runs: dict[str, list[Run]]) -> list:
    rates = [median([r.rate for r in runs[case]]) for case in runs]
    cpu = [median([_app_db(r) for r in runs[case]]) for case in runs]
    plain, checked = cpu[-2], cpu[-1]  # a token upload without, then with, its quotas
    loads = [r.load for case in runs for r in runs[case]]
    return [
        f"{level:,}", _short(tree), *rates, *(round(ms, 2) for ms in cpu),
        round(checked - plain, 2), f"{(checked - plain) / plain:+.0%}",
        f"{min(loads):.1f}-{max(loads):.1f}",
    ]  # fmt: skip


def _short(tree: Path) -> str:
    return "this checkout" if tree == ROOT else str(tree)


if __name__ == "__main__":
    main()
