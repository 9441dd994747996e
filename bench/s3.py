"""Benchmark: object storage (STORAGE=s3 on a real Ceph RGW) beside local storage, in one run.

`python -m bench.s3`: upload throughput of a 100 KB JPEG at concurrency 8 through nginx, then
GETs of one stored image and of its thumbnail through nginx (from the folder, from the bucket
with nginx's cache, from the bucket with S3_CACHE_SECONDS=0) at concurrency 8. The stacks run
side by side; the measurements alternate between them. Beside each rate: the CPU time (user +
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
    """The best rate of each stack over its runs, and its CPU time per request over all; the
    gateway's daemons count for the stacks named in `gateway` (those that reach it on every
    request: its idle CPU would swamp a cached GET's)."""

    def __init__(self, rgw: CephRGW, seconds: float, gateway: set[str]) -> None:
        self.rgw = rgw
        self.seconds = seconds
        self.gateway = gateway
        self.best: dict[str, float] = defaultdict(float)
        self.cpu: dict[str, float] = defaultdict(float)
        self.done: dict[str, int] = defaultdict(int)

    def run(self, name: str, stack: LocalStack, path: str, what: str, **load) -> None:
        pids = process_tree(stack.app.pid) + process_tree(stack.nginx.pid)
        if name in self.gateway:
            pids += self.rgw.pids()
        before = cpu_seconds(pids)
        result = run_load(
            f"{stack.url}/{path}", connections=CONCURRENCY, seconds=self.seconds, **load
        ).check(f"{what} ({name})")
        self.cpu[name] += cpu_seconds(pids) - before
        self.done[name] += result.ok
        self.best[name] = max(self.best[name], result.rate)
        wait_settled()

    def row(self, what: str, name: str, unit: str, target: float | None) -> list:
        """`name` beside local storage, with the 1-minute load average now."""
        ratio = self.best[name] / self.best["local"]
        verdict = "none"
        if target is not None:
            verdict = f"{'holds' if ratio >= target else 'MISSED'} (>= {target})"
        per_op = [1000 * self.cpu[n] / self.done[n] for n in ("local", name)]
        load = f"{os.getloadavg()[0]:.1f}"
        rates = [self.best["local"], self.best[name]]
        return [what, *rates, unit, f"{ratio:.2f}", verdict, *per_op, load]


def main() -> None:
    args = arguments(__doc__, seconds=8)
    require_tools()
    subprocess.run([str(ROOT / "scripts" / "ceph-rgw.sh"), "install"], check=True)
    size, max_bytes = ((128, 96), 6_000) if args.quick else ((1024, 768), 100_000)
    data, filename = bench_image(size, max_bytes)
    body, ctype = upload_body(data, filename)
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
            for stack in stacks.values():  # warm up: imports, connections, the gateway's pools
                run_load(
                    f"{stack.url}/upload", connections=2, seconds=min(2, args.seconds),
                    body=body, content_type=ctype, expect=201,
                )  # fmt: skip
            uploads = Runs(rgw, args.seconds, gateway={"s3"})
            for name in ("local", "s3") if args.quick else ("local", "s3", "s3", "local"):
                uploads.run(
                    name, stacks[name], "upload", "upload",
                    body=body, content_type=ctype, expect=201,
                )  # fmt: skip
                if name == "local":
                    clear_images(stacks[name])
            rows.append(uploads.row("upload 100 KB JPEG", "s3", "uploads/s", UPLOAD_TARGET))

            stacks["s3 uncached"] = uncached
            stored = {name: upload(stack, data) for name, stack in stacks.items()}
            order = ["local", "s3", "s3 uncached"]
            for what, key in (("GET the image", "path"), ("GET its thumbnail", "thumbnail_url")):
                served = Runs(rgw, args.seconds, gateway={"s3 uncached"})
                for name in order if args.quick else order + order[::-1]:
                    path = stored[name][key].split("://", 1)[-1].split("/", 1)[1]
                    served.run(name, stacks[name], path, what)
                for name, how, target in (
                    ("s3", "nginx's cache", SERVE_TARGET),
                    ("s3 uncached", "no cache", None),
                ):
                    rows.append(served.row(f"{what} through nginx, {how}", name, "req/s", target))
    print_table(
        f"Object storage (Ceph RGW) beside local storage, concurrency {CONCURRENCY}, "
        f"{args.seconds:g} s per run, best of {1 if args.quick else 2}",
        [
            "measure", "local", "s3", "unit", "s3 / local", "target",
            "CPU ms/request local", "CPU ms/request s3", "load",
        ],
        rows,
    )  # fmt: skip


if __name__ == "__main__":
    main()
