"""`python -m imagehost ...` as cron and an operator run it, for every test layer."""

import asyncio
import os
import subprocess
import sys

from imagehost import ROOT


def command_env(settings) -> dict:
    """The environment that points a command at `settings`' folder, database and secret."""
    return {
        "VAR_DIR": str(settings.var_dir),
        "MONGODB_URI": settings.mongodb_uri,
        "MONGODB_DB": settings.mongodb_db,
        "COOKIE_SECRET": settings.cookie_secret,
    }


def run_imagehost(env: dict, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """`python -m imagehost ARGS` with `env` over this process's environment."""
    return subprocess.run(
        [sys.executable, "-m", "imagehost", *args],
        env={**os.environ, **env}, cwd=ROOT, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


async def start_imagehost(env: dict, *args: str, **pipes) -> asyncio.subprocess.Process:
    """`python -m imagehost ARGS` started without waiting, so the test's loop keeps running."""
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "imagehost", *args,
        env={**os.environ, **env}, cwd=ROOT, **pipes,
    )  # fmt: skip


async def imagehost(env: dict, *args: str, stdin: bytes = b"") -> subprocess.CompletedProcess:
    """`run_imagehost` for async tests: the event loop (an app's backup) runs meanwhile."""
    pipe = subprocess.PIPE
    process = await start_imagehost(env, *args, stdin=pipe, stdout=pipe, stderr=pipe)
    out, err = await process.communicate(stdin)
    return subprocess.CompletedProcess(args, process.returncode, out.decode(), err.decode())
