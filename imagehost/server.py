"""Start the app: settings, logging, database, services, HTTP server, graceful stop.

`build_context()` is what tests use too, so they run the same wiring as production.
"""

import asyncio
import ctypes
import os
import secrets
import signal
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager

import tornado.netutil
from loguru import logger
from pymongo.errors import PyMongoError
from tornado.httpserver import HTTPServer

from .adminauth import CLOSED_MESSAGE, AdminAuth
from .backups.service import BackupService
from .consistency import check_consistency, log_report
from .context import AppContext
from .database import DatabaseUnavailable, ImageRepository, open_client
from .embedded import EMBEDDED_URI_FILE, EmbeddedMongo, running_embedded_uri, write_embedded_uri
from .logsetup import setup_logging
from .settings import Settings, SettingsError, load_settings, prepare_folders
from .storage import LocalStorage
from .uploads import UploadLimits, UploadService
from .web.app import make_app

STARTUP_DB_WAIT = 30.0
SHUTDOWN_GRACE = 10.0
_M_MMAP_THRESHOLD = -3  # glibc's mallopt() parameter number


IMAGE_THREAD_NICENESS = 10


def lower_thread_priority() -> None:
    """Run the calling thread (an image thread) at a lower CPU priority than the event loop.

    Linux schedules threads one by one: when the cores are busy decoding images, a request
    that needs no image work (/healthz, a page) still gets a core at once.
    """
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), IMAGE_THREAD_NICENESS)
    except (AttributeError, OSError):
        pass  # not Linux, or not allowed: same priority as the loop


def return_big_buffers_to_the_os() -> None:
    """Keep glibc's mmap threshold at 1 MiB, so upload bodies and decoded images go back to
    the OS when freed. By default the threshold rises after the first big free, and later
    big buffers then come from the heap, which does not shrink: RSS would ratchet up."""
    try:
        ctypes.CDLL(None).mallopt(_M_MMAP_THRESHOLD, 1024 * 1024)
    except (OSError, AttributeError):
        pass  # not glibc: its allocator decides


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


def upload_slots(settings: Settings) -> int:
    """Upload bodies one process holds at once: two per image thread (one being processed,
    the next one arriving) and two more whose files are being written and record inserted."""
    return 2 * settings.image_threads + 2


@asynccontextmanager
async def build_context(settings: Settings):
    """Open the database client and the services; close them on exit."""
    client = open_client(settings.mongodb_uri, settings.db_timeout_ms)
    executor = ThreadPoolExecutor(
        settings.image_threads, thread_name_prefix="imagework", initializer=lower_thread_priority
    )
    # Writes wait on the disk (fsync), not the CPU: on their own threads they never hold up
    # the image work.
    disk = ThreadPoolExecutor(settings.disk_threads, thread_name_prefix="disk")
    try:
        repo = ImageRepository(client, settings.mongodb_db)
        storage = LocalStorage(settings.images_dir, disk)
        limits = UploadLimits(
            settings.max_upload_bytes, settings.max_pixels, settings.strip_metadata
        )
        uploads = UploadService(repo, storage, limits, executor, slots=upload_slots(settings))
        admin = AdminAuth(settings, executor)
        backups = BackupService(repo, storage, settings.backup_dir, settings.backup_keep, disk)
        try:
            yield AppContext(
                settings=settings,
                repo=repo,
                storage=storage,
                uploads=uploads,
                admin=admin,
                backups=backups,
            )
        finally:
            await backups.close()
    finally:
        await client.close()
        executor.shutdown(wait=True)
        disk.shutdown(wait=True)


async def wait_for_database(repo: ImageRepository, wait: float = STARTUP_DB_WAIT) -> None:
    deadline = time.monotonic() + wait
    while True:
        try:
            await repo.ensure_indexes()
            return
        except PyMongoError as exc:
            if time.monotonic() > deadline:
                raise SettingsError(f"cannot reach the database: {exc}") from None
            logger.warning("database not reachable yet, retrying")
            await asyncio.sleep(1.0)


async def startup_check(settings: Settings) -> None:
    """Run the consistency check in report mode and log it: once, before any worker serves."""
    async with build_context(settings) as ctx:
        await wait_for_database(ctx.repo)
        try:
            report = await check_consistency(ctx.repo, ctx.storage)
        except DatabaseUnavailable as exc:
            logger.warning(f"consistency check skipped: the database is unavailable ({exc})")
            return
        log_report(report)


async def serve(settings: Settings, sockets: list, secret: str) -> None:
    """Serve on `sockets` until SIGTERM/SIGINT, then drain in-flight requests and close."""
    async with build_context(settings) as ctx:
        await wait_for_database(ctx.repo)
        if not ctx.admin.enabled:
            logger.warning(CLOSED_MESSAGE)
        app = make_app(ctx, secret)
        server = HTTPServer(
            app, xheaders=True, max_body_size=settings.max_body_bytes, idle_connection_timeout=60
        )
        server.add_sockets(sockets)
        logger.info(f"app listening on {settings.host}:{settings.port} pid={os.getpid()}")
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        logger.info("stopping: no new requests, finishing those in flight")
        server.stop()
        deadline = time.monotonic() + SHUTDOWN_GRACE
        while app.inflight and time.monotonic() < deadline:  # noqa: ASYNC110 (a counter, polled)
            await asyncio.sleep(0.05)
        await server.close_all_connections()
        logger.info("stopped")


def run_worker(settings: Settings, sockets: list, secret: str) -> int:
    try:
        asyncio.run(serve(settings, sockets, secret))
    except SettingsError as exc:
        logger.error(str(exc))
        return 1
    return 0


_PR_SET_PDEATHSIG = 1


def stop_with_parent(parent: int) -> None:
    """SIGTERM this worker when the supervisor dies, even by SIGKILL (Linux), so no orphan
    keeps serving on the port that a restarted app must bind again."""
    try:
        ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # it died before prctl() took effect
        os.kill(os.getpid(), signal.SIGTERM)


def supervise(settings: Settings, sockets: list, secret: str) -> int:
    """Fork WORKERS processes sharing the sockets; forward SIGTERM/SIGINT; restart crashes."""
    children: dict[int, int] = {}
    stopping = False
    supervisor = os.getpid()

    def spawn(slot: int) -> None:
        pid = os.fork()
        if pid == 0:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            stop_with_parent(supervisor)
            os._exit(run_worker(settings, sockets, secret))
        children[pid] = slot

    def forward(signum, frame) -> None:
        nonlocal stopping
        stopping = True
        # The workers close their listening sockets when they stop; once the supervisor's
        # copies are closed too, new connections are refused instead of queueing unserved.
        for sock in sockets:
            sock.close()
        for pid in children:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    for slot in range(settings.workers):
        spawn(slot)
    status = 0
    while children:
        try:
            pid, code = os.wait()
        except ChildProcessError:
            break
        slot = children.pop(pid, None)
        if slot is None:
            continue
        exit_code = os.waitstatus_to_exitcode(code)
        if exit_code != 0:
            status = 1
            if not stopping:
                logger.error(f"worker {pid} exited with {exit_code}; starting another")
                spawn(slot)
    return 0 if stopping else status


@contextmanager
def database_for(settings: Settings, *, reuse_running: bool = False) -> Iterator[Settings]:
    """`settings` with a database URI: MONGODB_URI, or an embedded nx-27017 run meanwhile.

    With `reuse_running` (the maintenance commands) the embedded server of an app running on
    the same DB_DIR is used: two servers on one data folder must never run at once.
    """
    if settings.mongodb_uri:
        yield settings
        return
    if reuse_running and (uri := running_embedded_uri(settings.db_dir)):
        yield settings.replace(mongodb_uri=uri)
        return
    embedded = EmbeddedMongo(settings.db_dir)
    uri = embedded.start()
    logger.info(f"embedded database (nx-27017) at {uri} in {settings.db_dir}")
    write_embedded_uri(settings.db_dir, uri)
    try:
        yield settings.replace(mongodb_uri=uri)
    finally:
        (settings.db_dir / EMBEDDED_URI_FILE).unlink(missing_ok=True)
        embedded.stop()


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
    settings = settings_or_none("imagehost")
    if settings is None:
        return 2
    setup_logging(settings.logs_dir, settings.log_level)
    return_big_buffers_to_the_os()
    try:
        with database_for(settings) as settings:
            sockets = tornado.netutil.bind_sockets(settings.port, settings.host)
            secret = cookie_secret(settings)
            try:
                asyncio.run(startup_check(settings))
            except SettingsError as exc:
                logger.error(str(exc))
                return 1
            if settings.workers == 1:
                return run_worker(settings, sockets, secret)
            return supervise(settings, sockets, secret)
    finally:
        logger.complete()
