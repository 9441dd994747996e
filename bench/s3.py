"""Benchmark: object storage (STORAGE=s3 on a real Ceph RGW) beside local storage, in one run.

`python -m bench.s3`: upload throughput of a 100 KB JPEG at concurrency 8 through nginx, then
GETs of one stored image and of its thumbnail through nginx (from the folder, from the bucket
with nginx's cache, from the bucket with S3_CACHE_SECONDS=0) at concurrency 8. The stacks run
side by side; the measurements alternate between them. Each row gives the 1-minute load average
at its end.
"""

import os
import subprocess

from bench.common import (
    ROOT,
    app_stack,
    arguments,
    bench_image,
    clear_images,
    print_table,
    require_tools,
    run_load,
    scratch,
    upload,
    upload_body,
    wait_settled,
    worker_env,
)
from imagehost.dev.rgw import CephRGW
from imagehost.s3admin import put_policy, read_policy

# Targets from the issue: S3 against local storage, on the same machine and run.
UPLOAD_TARGET = 0.8
SERVE_TARGET = 0.9
CONCURRENCY = 8
# The third stack reads every image from the bucket: nginx keeps no copy.
UNCACHED = {"S3_CACHE_SECONDS": "0"}


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
            uploads = {}
            for name in ("local", "s3") if args.quick else ("local", "s3", "s3", "local"):
                result = run_load(
                    f"{stacks[name].url}/upload", connections=CONCURRENCY, seconds=args.seconds,
                    body=body, content_type=ctype, expect=201,
                ).check(f"upload ({name})")  # fmt: skip
                uploads[name] = max(uploads.get(name, 0.0), result.rate)
                if name == "local":
                    clear_images(stacks[name])
                wait_settled()
            rows.append(_row("upload 100 KB JPEG", uploads, "s3", "uploads/s", UPLOAD_TARGET))

            stacks["s3 uncached"] = uncached
            stored = {name: upload(stack, data) for name, stack in stacks.items()}
            order = ["local", "s3", "s3 uncached"]
            for what, key in (("GET the image", "path"), ("GET its thumbnail", "thumbnail_url")):
                served = {}
                for name in order if args.quick else order + order[::-1]:
                    path = stored[name][key].split("://", 1)[-1].split("/", 1)[1]
                    result = run_load(
                        f"{stacks[name].url}/{path}", connections=CONCURRENCY,
                        seconds=args.seconds,
                    ).check(f"{what} ({name})")  # fmt: skip
                    served[name] = max(served.get(name, 0.0), result.rate)
                    wait_settled()
                for name, how, target in (
                    ("s3", "nginx's cache", SERVE_TARGET),
                    ("s3 uncached", "no cache", None),
                ):
                    rows.append(_row(f"{what} through nginx, {how}", served, name, "req/s", target))
    print_table(
        f"Object storage (Ceph RGW) beside local storage, concurrency {CONCURRENCY}, "
        f"{args.seconds:g} s per run, best of {1 if args.quick else 2}",
        ["measure", "local", "s3", "unit", "s3 / local", "target", "load"],
        rows,
    )


def _row(what: str, rates: dict, name: str, unit: str, target: float | None) -> list:
    """`rates[name]` beside local storage's, with the 1-minute load average now."""
    ratio = rates[name] / rates["local"]
    verdict = "none"
    if target is not None:
        verdict = f"{'holds' if ratio >= target else 'MISSED'} (>= {target})"
    load = f"{os.getloadavg()[0]:.1f}"
    return [what, rates["local"], rates[name], unit, f"{ratio:.2f}", verdict, load]


if __name__ == "__main__":
    main()
