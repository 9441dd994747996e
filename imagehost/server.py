"""Serve: settings, logging, the database, the start-up check, the HTTP server, graceful stop.

The wiring is context.py's, the worker processes supervisor.py's, the embedded database
embedded.py's.
"""

import asyncio
import os
import secrets
import sys
import time
import zlib

import tornado.netutil
from loguru import logger
from tornado.httpserver import HTTPServer

from . import stopsignals
from .accounts.service import CLOSED_MESSAGE
from .consistency import check_consistency, log_report
from .context import AppContext, build_context
from .database import DatabaseUnavailable
from .embedded import database_for
from .logsetup import setup_logging
from .migrations import wait_for_database
from .s3config import StorageError
from .settings import Settings, SettingsError, load_settings, prepare_folders
from .supervisor import supervise
from .tuning import return_big_buffers_to_the_os, reuse_image_blocks
from .web.app import make_app

SHUTDOWN_GRACE = 10.0


def cookie_secret(settings: Settings) -> str:
    """COOKIE_SECRET, or one generated once and kept in DB_DIR so cookies survive restarts."""
    if settings.cookie_secret:
        return settings.cookie_secret
    path = settings.db_dir / "cookie_secret"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as out:
        out.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


async def startup_check(settings: Settings) -> None:
    """Run the consistency check in report mode and log it: once, before any worker serves;
    a stop signal ends it."""
    stop = stopsignals.watch()
    async with build_context(settings) as ctx:
        await stopsignals.unless_stopped(check_once(settings, ctx), stop)


async def check_once(settings: Settings, ctx: AppContext) -> None:
    if settings.s3:
        try:
            await ctx.storage.check()
        except StorageError as exc:
            raise SettingsError(str(exc)) from None
    await wait_for_database(ctx.repo)
    await ctx.accounts.prepare()
    try:
        report = await check_consistency(ctx.repo, ctx.storage)
    except DatabaseUnavailable as exc:
        logger.warning(f"consistency check skipped: the database is unavailable ({exc})")
        return
    log_report(report)


async def ready(ctx: AppContext) -> None:
    """What a worker waits for before it serves: the database, prepared."""
    await wait_for_database(ctx.repo)
    if not await ctx.accounts.admin_exists():
        logger.warning(CLOSED_MESSAGE)


async def serve(settings: Settings, sockets: list, secret: str) -> None:
    """Serve on `sockets` until SIGTERM/SIGINT, then drain in-flight requests and close; a stop
    during start-up ends the start-up at its next await."""
    stop = stopsignals.watch()
    async with build_context(settings) as ctx:
        if not await stopsignals.unless_stopped(ready(ctx), stop):
            logger.info("stopped during start-up")
            return
        app = make_app(ctx, secret)
        server = HTTPServer(
            app, xheaders=True, max_body_size=settings.max_body_bytes, idle_connection_timeout=60
        )
        server.add_sockets(sockets)
        # Every worker runs one; a lease lets one sweep at a time across all of them.
        sweeping = asyncio.create_task(ctx.sweeper.run())
        logger.info(
            f"app listening on {settings.host}:{settings.port} pid={os.getpid()} "
            f"zlib={zlib.ZLIB_RUNTIME_VERSION}"
        )
        await stop.wait()
        logger.info("stopping: no new requests, finishing those in flight")
        server.stop()
        sweeping.cancel()
        deadline = time.monotonic() + SHUTDOWN_GRACE
        while app.inflight and time.monotonic() < deadline:  # noqa: ASYNC110 (a counter, polled)
            await asyncio.sleep(0.05)
        await server.close_all_connections()
        await asyncio.gather(sweeping, return_exceptions=True)
        logger.info("stopped")


def check_at_start(settings: Settings) -> int:
    try:
        stopsignals.run(startup_check(settings))
    except SettingsError as exc:
        logger.error(str(exc))
        return 1
    return 0


def in_child(job) -> int:
    """Run `job` in a forked child and return its exit status. Object storage's client
    (obstore) keeps a runtime of threads that a fork does not copy: the process that forks
    the workers must never have started it."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            code = job()
        finally:
            logger.complete()
            os._exit(code)
    stopsignals.waiting_for(pid)
    try:
        return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    finally:
        stopsignals.waiting_for(None)


def run_worker(settings: Settings, sockets: list, secret: str) -> int:
    try:
        stopsignals.run(serve(settings, sockets, secret))
    except SettingsError as exc:
        logger.error(str(exc))
        return 1
    return 0


def settings_or_none(command: str) -> Settings | None:
    """The validated settings with their folders made; None after saying what is wrong."""
    try:
        settings = load_settings()
        prepare_folders(settings)
    except SettingsError as exc:
        print(f"{command}: bad setting: {exc}", file=sys.stderr)
        return None
    return settings


def main() -> int:
    """`serve`: exit status 0 after a clean stop, 1 when it could not serve, 2 on a bad setting."""
    # Till a loop or the supervisor takes them, a stop is noted, then honoured where it is safe:
    # killed at once, the app could leave its start-up check running, holding the port.
    stopsignals.note_stops()
    settings = settings_or_none("imagehost")
    if settings is None:
        return 2
    setup_logging(settings.logs_dir, settings.log_level)
    return_big_buffers_to_the_os()
    reuse_image_blocks()
    try:
        with database_for(settings) as settings:
            sockets = tornado.netutil.bind_sockets(settings.port, settings.host)
            # Read (or made) once, before the workers fork, so they all sign with one secret.
            secret = cookie_secret(settings)
            if in_child(lambda: check_at_start(settings)) != 0:
                return 1
            if stopsignals.noted():
                return 0
            if settings.workers == 1:
                return run_worker(settings, sockets, secret)
            return supervise(
                settings.workers, sockets, lambda: run_worker(settings, sockets, secret)
            )
    finally:
        logger.complete()
