"""Getting the database ready for this version: its indexes, then the data migrations.

A migration changes stored records that an older version (or a foreign dump) wrote without
something this version relies on. Each one is named, idempotent and run at start-up and after
a restore.
"""

import asyncio
import time
from collections.abc import Awaitable, Callable

from loguru import logger
from pymongo.errors import PyMongoError

from .albums.records import AlbumRepository
from .database import ImageRepository
from .settings import SettingsError

STARTUP_DB_WAIT = 30.0

# name -> the step; each returns how many records it changed.
MIGRATIONS: dict[str, Callable[[ImageRepository], Awaitable[int]]] = {
    "created_ms sort keys": ImageRepository.add_missing_sort_keys,
    "expires_ms sweep keys": ImageRepository.add_missing_expiry_keys,
}


async def migrate(repo: ImageRepository) -> dict[str, int]:
    """Run every migration in order; returns how many records each changed."""
    changed = {}
    for name, step in MIGRATIONS.items():
        changed[name] = count = await step(repo)
        if count:
            logger.info(f"migration {name}: {count} records changed")
    return changed


async def prepare_database(repo: ImageRepository) -> None:
    """The indexes first (a migration's queries may need them), then the migrations."""
    await repo.ensure_indexes()
    await AlbumRepository(repo.client, repo.db_name).ensure_indexes()
    await migrate(repo)


async def wait_for_database(repo: ImageRepository, wait: float = STARTUP_DB_WAIT) -> None:
    """Prepare the database, retrying for `wait` seconds while it cannot be reached."""
    deadline = time.monotonic() + wait
    while True:
        try:
            await prepare_database(repo)
            return
        except PyMongoError as exc:
            if time.monotonic() > deadline:
                raise SettingsError(f"cannot reach the database: {exc}") from None
            logger.warning("database not reachable yet, retrying")
            await asyncio.sleep(1.0)
