"""Benchmark 2: serving `GET /images/<name>`, the project's nginx config vs a plain `root`.

`python -m bench.serve`: one nginx runs the project's server block (the real stack), another
a plain `root` on the same folder, both under the same main config; wrk fetches the same file.
The app is never on this path, so the ratio shows what the config's regex location and headers cost.
"""

import subprocess

from bench.common import (
    MIB,
    app_stack,
    arguments,
    photo_jpeg,
    print_table,
    require_tools,
    run_load,
    scratch,
    upload,
    wait_settled,
)
from imagehost.dev.devstack import find_nginx, free_port, wait_http
from imagehost.dev.nginxconf import write_main_config

FILES = [("100 KB JPEG", (1024, 768), 100_000), ("4 MB JPEG", (4000, 3000), 4 * MIB)]
CONCURRENCY = 32
TARGET = 0.95


def main() -> None:
    args = arguments(__doc__, seconds=8)
    require_tools()
    rows = []
    with scratch("serve") as var, app_stack(var / "app") as stack, PlainNginx(stack) as plain:
        for label, size, max_bytes in FILES:
            if args.quick:
                size, max_bytes = (size[0] // 8, size[1] // 8), max_bytes // 16
            answer = upload(stack, photo_jpeg(size, max_bytes))
            path = f"/images/{answer['name']}"
            for url in (stack.url, plain.url):  # warm up: open files, page cache, connections
                run_load(url + path, connections=CONCURRENCY, seconds=2).check(f"GET {url}{path}")
            for attempt in (1,) if args.quick else (1, 2):
                # Each run in turn goes first, so neither side always meets a colder machine.
                order = [stack.url, plain.url][:: 1 if attempt % 2 else -1]
                measured = {}
                for url in order:
                    measured[url] = run_load(
                        url + path, connections=CONCURRENCY, seconds=args.seconds
                    )
                    wait_settled()
                ours, bare = measured[stack.url], measured[plain.url]
                ours.check("project config"), bare.check("plain root")
                ratio = ours.rate / bare.rate
                rows.append([
                    f"{label} ({answer['size'] / 1000:,.0f} kB)", attempt,
                    ours.rate, ours.p50_ms, ours.p99_ms, bare.rate, bare.p50_ms, bare.p99_ms,
                    f"{ratio:.2f}", "holds" if ratio >= TARGET else "MISSED",
                ])  # fmt: skip
    print_table(
        f"Serving through nginx (concurrency {CONCURRENCY}, {args.seconds:g} s per run)",
        [
            "file", "run", "project req/s", "p50 ms", "p99 ms", "plain root req/s", "p50 ms",
            "p99 ms", "ratio", f"target >= {TARGET}",
        ],
        rows,
    )  # fmt: skip


class PlainNginx:
    """A second nginx with the same main config and a bare `root` server over VAR_DIR."""

    def __init__(self, stack) -> None:
        self.settings = stack.settings
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> "PlainNginx":
        run_dir = self.settings.var_dir / "plain-nginx"
        run_dir.mkdir(parents=True, exist_ok=True)
        server = run_dir / "plain.conf"
        # /images/<name> maps to IMAGES_DIR/<name> when the root is IMAGES_DIR's parent.
        server.write_text(
            f"server {{\n    listen 127.0.0.1:{self.port};\n"
            f"    access_log {self.settings.logs_dir / 'nginx-plain-access.log'};\n"
            f"    root {self.settings.images_dir.parent};\n}}\n"
        )
        conf = write_main_config(self.settings, run_dir, server)
        self.process = subprocess.Popen(
            [find_nginx(), "-c", str(conf), "-p", str(run_dir), "-e", "stderr"],
            stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        ready = self.settings.images_dir.parent / "plain-nginx-ready.txt"
        ready.write_text("ok\n")
        try:
            wait_http(f"{self.url}/{ready.name}", 15, self.process)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(15)


if __name__ == "__main__":
    main()
