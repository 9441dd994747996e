"""Benchmark 6: a backup of 100,000 records and their files, against `tar` of the same files.

`python -m bench.backup`: the real stack on an embedded nx-27017 that this command starts and
seeds directly (insert_many; files written straight into IMAGES_DIR): 2,000 photo-sized images
(about 100 kB, with thumbnails) and 98,000 small ones, one record each. It then runs
`python -m imagehost backup` (the cron command; the admin button runs the same service) beside
the running app, and `tar` over the same image files and database folder, timing both and
sampling each one's peak RSS.
"""

import asyncio
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.common import (
    MIB,
    ROOT,
    PeakRss,
    app_stack,
    arguments,
    photo_jpeg,
    print_table,
    require_tools,
    scratch,
)
from imagehost.database import ImageRecord, ImageRepository, open_client
from imagehost.embedded import EmbeddedMongo

RECORDS = 100_000
PHOTOS = 2_000
BATCH = 5_000
TARGET = 2.0


def name_of(index: int) -> str:
    return f"b{index:015d}"


async def seed(uri: str, images: Path, records: int, photos: int) -> int:
    """Write every record's image and thumbnail, then the records; the bytes written."""
    photo, small = photo_jpeg((1024, 768), 100_000), photo_jpeg((64, 48), 2_000)
    thumb, small_thumb = photo_jpeg((320, 240), 12_000), photo_jpeg((32, 24), 1_000)
    written = 0
    client = open_client(uri, 10_000)
    try:
        repo = ImageRepository(client, "bench")
        await repo.ensure_indexes()
        start = datetime(2024, 1, 1, tzinfo=UTC)
        for first in range(0, records, BATCH):
            batch = []
            for index in range(first, min(records, first + BATCH)):
                data, preview = (photo, thumb) if index < photos else (small, small_thumb)
                stem = name_of(index)
                (images / f"{stem}.jpg").write_bytes(data)
                (images / f"{stem}.thumb.jpg").write_bytes(preview)
                written += len(data) + len(preview)
                batch.append(
                    ImageRecord(
                        name=f"{stem}.jpg", original_name=f"photo-{index}.jpg", format="jpeg",
                        width=1024, height=768, size=len(data), sha256=f"{index:064x}",
                        delete_token_hash=f"{index:064x}", owner=f"owner-{index % 97}",
                        thumbnail=f"{stem}.thumb.jpg",
                        created_at=start + timedelta(seconds=3 * index),
                    ).to_document()
                )  # fmt: skip
            await repo.collection.insert_many(batch, ordered=False)
    finally:
        await client.close()
    return written


def timed(command: list[str], env: dict | None = None, cwd: Path | None = None):
    """Run `command`; its seconds and peak RSS (itself and its children)."""
    began = time.perf_counter()
    process = subprocess.Popen(
        command, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    with PeakRss(process.pid, interval=0.01) as peak:
        output, _ = process.communicate(timeout=1800)
    seconds = time.perf_counter() - began
    if process.returncode != 0:
        raise RuntimeError(f"{command[:4]} failed ({process.returncode}): {output[-2000:]}")
    return seconds, (peak.app_peak + peak.db_peak) / MIB


def main() -> None:
    args = arguments(__doc__, seconds=0)
    require_tools()
    records, photos = (RECORDS, PHOTOS) if not args.quick else (300, 20)
    rows = []
    with scratch("backup") as var, EmbeddedMongo(var / "db") as mongo:
        env = {"MONGODB_URI": mongo.uri, "MONGODB_DB": "bench"}
        with app_stack(var / "app", env) as stack:
            settings = stack.settings
            began = time.perf_counter()
            written = asyncio.run(seed(mongo.uri, settings.images_dir, records, photos))
            seeded = time.perf_counter() - began
            for attempt in (1, 2):
                backup_s, backup_mib = timed(
                    [sys.executable, "-m", "imagehost", "backup"], env=stack.env, cwd=ROOT
                )
                made = sorted(settings.backup_dir.glob("imagehost-*.tar"))
                size = made[-1].stat().st_size
                for old in made:
                    old.unlink()
                plain = var / "plain.tar"
                tar_s, tar_mib = timed(
                    ["tar", "-cf", str(plain), "-C", str(var), "app/images", "db"]
                )
                plain.unlink()
                ratio = backup_s / tar_s
                rows.append([
                    attempt, backup_s, backup_mib, f"{size / MIB:,.0f} MiB", tar_s, tar_mib,
                    f"{ratio:.2f}", "holds" if ratio <= TARGET else "MISSED",
                ])  # fmt: skip
    print_table(
        f"Backup of {records:,} records and their {2 * records:,} files "
        f"({photos:,} photos of ~100 kB; {written / MIB:,.0f} MiB; seeded in {seeded:.0f} s)",
        [
            "run", "backup s", "backup peak RSS MiB", "backup size", "tar s", "tar peak RSS MiB",
            "ratio", f"target <= {TARGET:g}x",
        ],
        rows,
    )  # fmt: skip


if __name__ == "__main__":
    main()
