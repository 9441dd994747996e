"""Benchmark: object storage (STORAGE=s3 on a real Ceph RGW) beside local storage, in one run.

`python -m bench.s3`: upload throughput of a 100 KB JPEG at concurrency 8 through nginx, then
GETs of one stored image and of its thumbnail through nginx (from the folder, from the bucket
with nginx's cache, from the bucket with S3_CACHE_SECONDS=0) at concurrency 8. The stacks run
side by side, each warmed up first; the measurements alternate between them for --rounds
rounds (each round in the opposite order to the last), and a row gives each stack's median
rate and the median of the rounds' ratios (a ratio compares runs seconds apart, so a change
in the machine's load between rounds moves it less). Beside each rate: the CPU time (user +
system) per request of the processes involved (the app and its database, nginx, and where each
request reaches the bucket the gateway's three daemons, idle work included), steadier than
rates on a loaded machine, and the 1-minute load average at the row's end.
"""

import os
import subprocess
from collections import defaultdict

from bench.common import (
    ROOT,
    app_stack,
    arguments,
    bench_image,
    clear_images,
    cpu_seconds,
    median,
    print_table,
    process_tree,
    require_tools,
    run_load,
    scratch,
    upload,
    upload_body,
    wait_settled,
    worker_env,
)
from imagehost.dev.devstack import LocalStack
from imagehost.dev.rgw import CephRGW
from imagehost.s3admin import put_policy, read_policy

# Targets from the issue: S3 against local storage, on the same machine and run.
UPLOAD_TARGET = 0.8
SERVE_TARGET = 0.9
CONCURRENCY = 8
# The third stack reads every image from the bucket: nginx keeps no copy.
UNCACHED = {"S3_CACHE_SECONDS": "0"}


class Runs:
    """Each stack's rates over its runs, and its CPU time per request by process: the app (with
    its database), nginx, and the gateway's daemons for the stacks named in `gateway` (those
    that reach it on every request: its idle CPU would swamp a cached GET's)."""

    def __init__(self, rgw: CephRGW, seconds: float, gateway: set[str]) -> None:
        self.rgw = rgw
        self.seconds = seconds
        self.gateway = gateway
        self.rates: dict[str, list[float]] = defaultdict(list)
        self.cpu: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        self.done: dict[str, int] = defaultdict(int)

    def run(self, name: str, stack: LocalStack, path: str, what: str, **load) -> None:
        processes = {"app": process_tree(stack.app.pid), "nginx": process_tree(stack.nginx.pid)}
        if name in self.gateway:
            processes["gateway"] = self.rgw.pids()
        before = {group: cpu_seconds(pids) for group, pids in processes.items()}
        result = run_load(
            f"{stack.url}/{path}", connections=CONCURRENCY, seconds=self.seconds, **load
        ).check(f"{what} ({name})")
        for group, pids in processes.items():
            self.cpu[name][group] += cpu_seconds(pids) - before[group]
        self.done[name] += result.ok
        self.rates[name].append(result.rate)
        wait_settled()

    def ratio(self, name: str) -> float:
        """The median over rounds of `name`'s rate to local storage's in the same round."""
        return median([a / b for a, b in zip(self.rates[name], self.rates["local"], strict=True)])

    def cpu_per_request(self, name: str, unit: str) -> str:
        """CPU per request in total and by process, in ms (2 decimals) or µs (whole)."""
        scale, digits = (1000, 2) if unit == "ms" else (1_000_000, 0)
        each = {group: scale * used / self.done[name] for group, used in self.cpu[name].items()}
        shown = ", ".join(f"{group} {value:.{digits}f}" for group, value in each.items())
        return f"{sum(each.values()):.{digits}f} {unit} ({shown})"

    def row(self, what: str, name: str, unit: str, target: float | None, cpu_unit: str) -> list:
        """`name` beside local storage, with the 1-minute load average now."""
        ratio = self.ratio(name)
        verdict = "none"
        if target is not None:
            verdict = f"{'holds' if ratio >= target else 'MISSED'} (>= {target})"
        cpu = [self.cpu_per_request(n, cpu_unit) for n in ("local", name)]
        load = f"{os.getloadavg()[0]:.1f}"
        rates = [median(self.rates["local"]), median(self.rates[name])]
        return [what, *rates, unit, f"{ratio:.2f}", verdict, *cpu, load]


def in_rounds(names: list[str], rounds: int) -> list[str]:
    """`names` `rounds` times, every other round reversed: A B C, C B A, A B C..."""
    return [name for r in range(rounds) for name in (names if r % 2 == 0 else names[::-1])]


def main() -> None:
    args = arguments(__doc__, seconds=8, extra=rounds_option)
    rounds = 1 if args.quick else args.rounds
    require_tools()
    subprocess.run([str(ROOT / "scripts" / "ceph-rgw.sh"), "install"], check=True)
    size, max_bytes = ((128, 96), 6_000) if args.quick else ((1024, 768), 100_000)
    data, filename = bench_image(size, max_bytes)
    body, ctype = upload_body(data, filename)
    warm_up = min(2, args.seconds)
    rows = []
    with scratch("s3") as var, CephRGW(var / "rgw") as rgw:
        config = rgw.config("bench")
        put_policy(config, read_policy(config, "127.0.0.1/32"))
        env = worker_env(args)
        with (
            app_stack(var / "local", env) as local,
            app_stack(var / "s3", {**env, **rgw.env(config)}) as s3,
            app_stack(var / "s3-uncached", {**env, **rgw.env(config), **UNCACHED}) as uncached,
        ):
            stacks = {"local": local, "s3": s3}
            posts = {"body": body, "content_type": ctype, "expect": 201}
            for stack in stacks.values():  # warm up: imports, connections, the gateway's pools
                run_load(f"{stack.url}/upload", connections=2, seconds=warm_up, **posts)
            uploads = Runs(rgw, args.seconds, gateway={"s3"})
            for name in in_rounds(list(stacks), rounds):
                uploads.run(name, stacks[name], "upload", "upload", **posts)
                if name == "local":
                    clear_images(stacks[name])
            rows.append(uploads.row("upload 100 KB JPEG", "s3", "uploads/s", UPLOAD_TARGET, "ms"))

            stacks["s3 uncached"] = uncached
            stored = {name: upload(stack, data) for name, stack in stacks.items()}
            for what, key in (("GET the image", "path"), ("GET its thumbnail", "thumbnail_url")):
                paths = {
                    name: answer[key].split("://", 1)[-1].split("/", 1)[1]
                    for name, answer in stored.items()
                }
                for name, stack in stacks.items():  # warm up: nginx's cache, the page cache
                    run_load(f"{stack.url}/{paths[name]}", connections=CONCURRENCY, seconds=1)
                served = Runs(rgw, args.seconds, gateway={"s3 uncached"})
                for name in in_rounds(list(stacks), rounds):
                    served.run(name, stacks[name], paths[name], what)
                for name, how, target in (
                    ("s3", "nginx's cache", SERVE_TARGET),
                    ("s3 uncached", "no cache", None),
                ):
                    rows.append(
                        served.row(f"{what} through nginx, {how}", name, "req/s", target, "µs")
                    )
    print_table(
        f"Object storage (Ceph RGW) beside local storage, concurrency {CONCURRENCY}, "
        f"{args.seconds:g} s per run, rounds: {rounds} (alternating order); median rates, "
        "median of the rounds' ratios",
        [
            "measure", "local", "s3", "unit", "s3 / local", "target",
            "CPU per request local", "CPU per request s3", "load",
        ],
        rows,
    )  # fmt: skip


def rounds_option(parser) -> None:
    parser.add_argument(
        "--rounds", type=int, default=3, help="runs of each stack, alternating (--quick: 1)"
    )


if __name__ == "__main__":
    main()
