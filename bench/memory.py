"""Benchmark 5: peak memory of the app while 32 clients upload 5 MiB images at once.

`python -m bench.memory`: the real stack; wrk keeps 32 uploads of a JPEG just under the
5 MiB limit in flight, and the summed RSS of the app's processes (supervisor and every worker)
is sampled every 20 ms. The embedded database is a separate server and is shown apart.
"""

from bench.common import (
    MIB,
    Load,
    PeakRss,
    app_stack,
    arguments,
    clear_images,
    photo_jpeg,
    print_table,
    require_tools,
    scratch,
    upload_body,
    wait_settled,
    worker_env,
)

UPLOADERS = 32
TARGET_MB = 400


def main() -> None:
    args = arguments(__doc__, seconds=15)
    require_tools()
    size, max_bytes, uploaders = (4000, 3000), 5 * MIB, UPLOADERS
    if args.quick:
        size, max_bytes, uploaders = (500, 375), MIB // 4, 4
    data = photo_jpeg(size, max_bytes)
    body, ctype = upload_body(data)
    rows = []
    with scratch("memory") as var, app_stack(var / "app", worker_env(args)) as stack:
        wait_settled(1.0)
        with PeakRss(stack.app.pid) as idle:
            wait_settled(0.5)
        rows.append(["idle", "-", "-", idle.app_peak / MIB, idle.db_peak / MIB, ""])
        for attempt in (1, 2):
            with PeakRss(stack.app.pid) as peak:
                burst = Load(
                    f"{stack.url}/upload", connections=uploaders, seconds=args.seconds,
                    body=body, content_type=ctype, expect=201,
                ).result()  # fmt: skip
            burst.check("uploads")
            verdict = "holds" if peak.app_peak < TARGET_MB * MIB else "MISSED"
            rows.append([
                f"{uploaders} uploads in flight (run {attempt})", burst.ok,
                f"{burst.rate:.1f}/s", peak.app_peak / MIB, peak.db_peak / MIB, verdict,
            ])  # fmt: skip
            clear_images(stack)
            wait_settled(2.0)
        settings = stack.settings
    print_table(
        f"Peak RSS while uploading {len(data) / MIB:.2f} MiB JPEGs ({size[0]}x{size[1]}; "
        f"WORKERS={settings.workers}, IMAGE_THREADS={settings.image_threads}, "
        f"{args.seconds:g} s per run)",
        ["load", "uploads", "rate", "app peak RSS MiB", "database MiB", f"< {TARGET_MB} MB"],
        rows,
    )


if __name__ == "__main__":
    main()
