"""The wiring: settings in, the services the handlers and commands use out.

`build_context()` is what tests use too, so they run the same wiring as production.
"""

from concurrent.futures import Executor, ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass

from .accounts.service import Accounts
from .albums.records import AlbumRepository
from .albums.service import AlbumService
from .backups.service import BackupService
from .database import ImageRepository, open_client
from .settings import Settings
from .storage import LocalStorage, Storage
from .sweeper import ExpirySweeper
from .tuning import lower_thread_priority
from .uploads import UploadLimits, UploadService


@dataclass
class AppContext:
    settings: Settings
    repo: ImageRepository
    storage: Storage
    uploads: UploadService
    accounts: Accounts
    backups: BackupService
    albums: AlbumService
    sweeper: ExpirySweeper


def upload_slots(settings: Settings) -> int:
    """Upload bodies one process holds at once: two per image thread (one being processed,
    the next one arriving) and two more whose files are being written and record inserted."""
    return 2 * settings.image_threads + 2


def open_storage(settings: Settings, disk: Executor) -> Storage:
    """The images' storage: the bucket (STORAGE=s3) or IMAGES_DIR."""
    if settings.s3:
        # Imported here: obstore's library adds about 8 MiB to every process that loads it,
        # the workers and the backup command on local storage included.
        from .s3storage import S3Storage

        return S3Storage(settings.s3)
    return LocalStorage(settings.images_dir, disk)


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
        storage = open_storage(settings, disk)
        limits = UploadLimits(
            settings.max_upload_bytes, settings.max_pixels, settings.strip_metadata
        )
        album_repo = AlbumRepository(client, settings.mongodb_db)
        uploads = UploadService(
            repo, storage, limits, executor, slots=upload_slots(settings), albums=album_repo
        )
        accounts = Accounts(settings, client, executor, uploads=uploads)
        uploads.on_removed = accounts.image_removed
        backups = BackupService(repo, storage, settings.backup_dir, settings.backup_keep, disk)
        sweeper = ExpirySweeper(repo, uploads, settings.expiry_sweep_seconds)
        try:
            yield AppContext(
                settings=settings,
                repo=repo,
                storage=storage,
                uploads=uploads,
                accounts=accounts,
                backups=backups,
                albums=AlbumService(album_repo, repo, storage, disk),
                sweeper=sweeper,
            )
        finally:
            await backups.close()
    finally:
        await client.close()
        executor.shutdown(wait=True)
        disk.shutdown(wait=True)
