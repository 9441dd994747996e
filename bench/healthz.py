"""Benchmark 4: responsiveness: `GET /healthz` latency while 32 clients upload 4 MB images.

`python -m bench.healthz`: the real stack; one wrk process keeps 32 uploads of a 4 MB JPEG in
flight, another asks /healthz over one connection meanwhile. An event loop blocked by CPU work
shows up here as a long p99. The same probe on the idle stack is the reference.
"""

from bench.common import (
    MIB,
    Load,
    app_stack,
    arguments,
    photo_jpeg,
    print_table,
    require_tools,
    run_load,
    scratch,
    upload_body,
    wait_settled,
    worker_env,
)

UPLOADERS = 32
TARGET_MS = 50.0


def main() -> None:
    args = arguments(__doc__, seconds=15)
    require_tools()
    size, max_bytes, uploaders = (4000, 3000), 4 * MIB, UPLOADERS
    if args.quick:
        size, max_bytes, uploaders = (500, 375), MIB // 4, 4
    body, ctype = upload_body(photo_jpeg(size, max_bytes))
    rows = []
    with scratch("healthz") as var, app_stack(var / "app", worker_env(args)) as stack:
        health = f"{stack.url}/healthz"
        idle = run_load(health, connections=1, seconds=min(args.seconds, 5)).check("idle probe")
        rows.append(["idle", "-", idle.ok, idle.p50_ms, idle.p99_ms, idle.max_ms, ""])
        for attempt in (1, 2):
            uploads = Load(
                f"{stack.url}/upload", connections=uploaders, seconds=args.seconds + 2,
                body=body, content_type=ctype, expect=201,
            )  # fmt: skip
            wait_settled(1.0)  # let the burst reach the app before probing
            probe = run_load(health, connections=1, seconds=args.seconds).check("probe")
            burst = uploads.result().check("uploads")
            verdict = "holds" if probe.p99_ms < TARGET_MS else "MISSED"
            rows.append([
                f"{uploaders} uploads in flight (run {attempt})", f"{burst.rate:.1f}/s",
                probe.ok, probe.p50_ms, probe.p99_ms, probe.max_ms, verdict,
            ])  # fmt: skip
            wait_settled(2.0)
        workers = stack.settings.workers
    print_table(
        f"GET /healthz through nginx while uploading {len(body) / 1e6:.1f} MB JPEGs "
        f"(WORKERS={workers}, {args.seconds:g} s per run)",
        ["load", "uploads", "probes", "p50 ms", "p99 ms", "max ms", f"p99 < {TARGET_MS:g} ms"],
        rows,
    )


if __name__ == "__main__":
    main()
