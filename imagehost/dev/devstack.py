"""The local stack behind `make run` (and the end-to-end tests): app + nginx, one config.

The app starts its embedded database itself when MONGODB_URI is unset.
"""

import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from .. import ROOT
from ..settings import SettingsError, load_settings, prepare_folders
from .nginxconf import write_local_config


class StackError(RuntimeError):
    pass


def free_port() -> int:
    """A loopback port that is free now, below the kernel's ephemeral range (tests, benchmarks).

    Ports the kernel hands out itself (outgoing connections, nx-27017's `-p 0`) come from the
    ephemeral range, so a port chosen below it cannot be taken between this call and the bind.
    """
    low, high = 20000, _ephemeral_low() - 1
    for _ in range(200):
        port = random.randint(low, high)
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port found")


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def find_nginx() -> str:
    for candidate in (shutil.which("nginx"), "/usr/sbin/nginx"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise StackError("nginx is not installed: run `apt-get install nginx` (Debian/Ubuntu)")


def wait_http(url: str, timeout: float, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise StackError(f"{process.args[0]} exited with {process.returncode} during start-up")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status < 500:
                    return
        except OSError:
            time.sleep(0.1)
    raise StackError(f"{url} did not answer within {timeout:.0f} s")


class LocalStack:
    """Start the app on `app_port` and nginx on `http_port`, with `env` as the app's settings.

    `app_command` replaces the app (the benchmarks put a bare baseline behind the same nginx);
    `output`, when given, is the file the processes' own output goes to instead of ours.
    """

    def __init__(
        self,
        env: dict,
        *,
        app_port: int,
        http_port: int,
        app_command: list[str] | None = None,
        output: Path | None = None,
    ) -> None:
        self.env = {**os.environ, **env, "PORT": str(app_port)}
        self.app_command = app_command or [sys.executable, "-m", "imagehost", "serve"]
        self.output = output
        self.app_port = app_port
        self.http_port = http_port
        self.settings = load_settings(self.env)
        self.env["VAR_DIR"] = str(self.settings.var_dir)
        self.processes: list[subprocess.Popen] = []
        self.app: subprocess.Popen | None = None
        self.nginx: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def start(self, timeout: float = 60.0) -> "LocalStack":
        prepare_folders(self.settings)
        nginx = find_nginx()
        run_dir = self.settings.var_dir / "nginx"
        conf = write_local_config(
            self.settings, http_port=self.http_port, app_port=self.app_port, run_dir=run_dir
        )
        error_log = self.settings.logs_dir / "nginx-error.log"
        check = subprocess.run(
            [nginx, "-t", "-q", "-c", str(conf), "-p", str(run_dir), "-e", str(error_log)],
            capture_output=True, text=True,
        )  # fmt: skip
        if check.returncode != 0:
            raise StackError(f"nginx rejected the config: {check.stderr.strip()}")
        try:
            self.start_app(timeout)
            self.nginx = self._spawn(
                [nginx, "-c", str(conf), "-p", str(run_dir), "-e", str(error_log)]
            )
            wait_http(f"{self.url}/healthz", 15, self.nginx)
        except BaseException:
            self.stop()
            raise
        return self

    def start_app(self, timeout: float = 60.0) -> subprocess.Popen:
        """Start the app (again, after a crash or a stop) and wait until it answers."""
        self.app = self._spawn(self.app_command)
        wait_http(f"http://127.0.0.1:{self.app_port}/healthz", timeout, self.app)
        return self.app

    def _spawn(self, command: list[str]) -> subprocess.Popen:
        out = None
        if self.output is not None:
            self.output.parent.mkdir(parents=True, exist_ok=True)
            out = self.output.open("ab")
        process = subprocess.Popen(
            command, env=self.env, cwd=ROOT,
            stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True,
        )  # fmt: skip
        if out is not None:
            out.close()  # the child has its own copy
        self.processes.append(process)
        return process

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM (nginx: SIGQUIT, its graceful stop) to everything started, then wait."""
        for process in reversed(self.processes):
            if process.poll() is None:
                process.send_signal(signal.SIGQUIT if process is self.nginx else signal.SIGTERM)
        for process in reversed(self.processes):
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes.clear()

    def __enter__(self) -> "LocalStack":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def main() -> int:
    """`make run`: the stack in the foreground until Ctrl-C or SIGTERM."""
    app_port = int(os.environ.get("APP_PORT", "8000"))
    http_port = int(os.environ.get("HTTP_PORT", "8080"))
    env = {"VAR_DIR": os.environ.get("VAR_DIR", "./var")}
    try:
        stack = LocalStack(env, app_port=app_port, http_port=http_port).start()
    except (StackError, SettingsError) as exc:
        print(f"make run: {exc}", file=sys.stderr)
        return 1
    stopping = False

    def stop(signum, frame) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"\nimagehost is running: {stack.url}/  (Ctrl-C stops it)\n", flush=True)
    print(f"  curl -F file=@cat.png {stack.url}/upload\n", flush=True)
    try:
        while not stopping and all(p.poll() is None for p in stack.processes):
            time.sleep(0.2)
    finally:
        stack.stop()
    return 0 if stopping else 1


if __name__ == "__main__":
    sys.exit(main())
