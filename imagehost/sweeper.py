"""The expiry sweeper: every EXPIRY_SWEEP_SECONDS, one process across all replicas (the one that
takes the lease) deletes the images whose time is up, through the one delete path.

A TTL index would drop the records and leave their files; this removes both, record first.
"""

import asyncio
import time
from datetime import UTC, datetime

from loguru import logger

from .coordination import Lease
from .database import DatabaseUnavailable, ImageRepository
from .uploads import UploadService

LEASE_NAME = "expiry-sweep"
# How long a sweep's lease outlives its last renewal: a process that dies mid-sweep on another
# host keeps the others from sweeping this long (on its own host, its pid tells at once).
LEASE_SECONDS = 30.0
BATCH = 100


class ExpirySweeper:
    def __init__(
        self,
        repo: ImageRepository,
        uploads: UploadService,
        interval: float,
        lease_seconds: float = LEASE_SECONDS,
    ) -> None:
        self.repo = repo
        self.uploads = uploads
        self.interval = interval
        self.lease = Lease(repo.client, repo.db_name, LEASE_NAME, lease_seconds)

    async def sweep(self, now: datetime | None = None) -> int:
        """Delete every image expired at `now` (default: the present); returns how many.

        Only the lease holder sweeps: 0 at once when another process is sweeping."""
        if not await self.lease.acquire():
            return 0
        try:
            return await self._sweep(now)
        finally:
            await asyncio.shield(self.lease.release())

    async def _sweep(self, now: datetime | None) -> int:
        deleted = 0
        renewed = time.monotonic()
        while True:
            batch = await self.repo.expired(now or datetime.now(UTC), BATCH)
            for record in batch:
                await self.uploads.delete(record)
                logger.info(f"image expired name={record.name} expires_at={record.expires_at}")
                deleted += 1
            if len(batch) < BATCH:
                return deleted
            if time.monotonic() - renewed > self.lease.seconds / 3:
                if not await self.lease.renew():
                    logger.warning("expiry sweep stopped: its lease was taken by another process")
                    return deleted
                renewed = time.monotonic()

    async def run(self) -> None:
        """Sweep every `interval` seconds until cancelled; failures wait for the next round."""
        while True:
            try:
                await self.sweep()
            except DatabaseUnavailable as exc:
                logger.warning(f"expiry sweep skipped: the database is unavailable ({exc})")
            except Exception:
                logger.exception("expiry sweep failed; trying again at the next round")
            await asyncio.sleep(self.interval)
