"""Benchmark 1: upload throughput and latency through nginx, against a bare baseline.

`python -m bench.upload`: a 100 KB and a 4 MB JPEG and a 1920x1080 screenshot PNG at concurrency
1, 8 and 32, the full pipeline (check, strip, thumbnail, store, record) vs bench/baseline_app.py
behind the same nginx.
"""

from bench.common import (
    MIB,
    app_stack,
    arguments,
    baseline_stack,
    bench_image,
    clear_images,
    print_table,
    require_tools,
    run_load,
    scratch,
    upload_body,
    wait_settled,
    worker_env,
)

# --image: (label, pixel size, largest file size (None: a screenshot PNG), target ratio at
# concurrency 8)
IMAGES = {
    "100kb": ("100 KB JPEG", (1024, 768), 100_000, 0.5),
    "4mb": ("4 MB JPEG", (4000, 3000), 4 * MIB, 0.7),
    "screenshot": ("screenshot PNG", (1920, 1080), None, 0.5),
}
CONCURRENCY = [1, 8, 32]


def main() -> None:
    args = arguments(__doc__, seconds=8, images=IMAGES)
    require_tools()
    rows = []
    with scratch("upload") as var, app_stack(var / "app", worker_env(args)) as ours:
        with baseline_stack(var / "baseline", worker_env(args)) as bare:
            workers = ours.settings.workers
            for label, size, max_bytes, target in (IMAGES[name] for name in args.image):
                if args.quick:
                    size, max_bytes = (size[0] // 8, size[1] // 8), max_bytes and max_bytes // 16
                data, filename = bench_image(size, max_bytes)
                body, ctype = upload_body(data, filename)
                for stack in (ours, bare):  # warm both up: imports, connections, caches
                    run_load(
                        f"{stack.url}/upload", connections=2, seconds=min(2, args.seconds),
                        body=body, content_type=ctype, expect=201,
                    )  # fmt: skip
                    clear_images(stack)
                for concurrency in [2] if args.quick else CONCURRENCY:
                    mine = _measure(ours, body, ctype, concurrency, args.seconds)
                    base = _measure(bare, body, ctype, concurrency, args.seconds)
                    ratio = mine.rate / base.rate
                    verdict = ""
                    if concurrency == 8:
                        verdict = f"{'holds' if ratio >= target else 'MISSED'} (>= {target})"
                    rows.append([
                        f"{label} ({len(data) / 1000:,.0f} kB, {size[0]}x{size[1]})", concurrency,
                        mine.rate, mine.p50_ms, mine.p99_ms, base.rate, base.p50_ms, base.p99_ms,
                        f"{ratio:.2f}", verdict,
                    ])  # fmt: skip
    print_table(
        f"Upload through nginx (WORKERS={workers}, {args.seconds:g} s per run)",
        [
            "image", "conc.", "ours req/s", "ours p50 ms", "ours p99 ms",
            "baseline req/s", "base p50 ms", "base p99 ms", "ratio", "target",
        ],
        rows,
    )  # fmt: skip


def _measure(stack, body: bytes, ctype: str, concurrency: int, seconds: float):
    result = run_load(
        f"{stack.url}/upload", connections=concurrency, seconds=seconds,
        body=body, content_type=ctype, expect=201,
    ).check(f"upload to {stack.url} at concurrency {concurrency}")  # fmt: skip
    clear_images(stack)
    wait_settled()
    return result


if __name__ == "__main__":
    main()
