"""Benchmark 3: the gallery's first page vs page 500, with 100,000 records in the database.

`python -m bench.gallery`: seeds the records straight into the database with insert_many
(not through uploads), then times ImageRepository.list_page (keyset pagination) for page 1
and for page 500, alternating, against the embedded nx-27017 that `make run` uses.
The gallery page itself is not on main yet, so this measures the repository call it will make.
"""

import asyncio
import time
from datetime import UTC, datetime, timedelta

from bench.common import arguments, print_table, scratch
from imagehost.database import ImageRecord, ImageRepository, open_client
from imagehost.embedded import EmbeddedMongo

RECORDS = 100_000
PAGE = 24
DEEP_PAGE = 500
BATCH = 5_000
TARGET = 1.2


def record(index: int, start: datetime) -> dict:
    # Several records share each second, so the name breaks ties as it does in the app.
    return ImageRecord(
        name=f"{index:016d}.jpg"[-20:],
        original_name=f"photo-{index}.jpg",
        format="jpeg",
        width=1024,
        height=768,
        size=100_000,
        sha256=f"{index:064x}",
        delete_token_hash=f"{index:064x}",
        owner=f"owner-{index % 50}",
        thumbnail=f"{index:016d}.thumb.jpg",
        created_at=start + timedelta(seconds=index // 3),
    ).to_document()


async def run(uri: str, records: int, rounds: int) -> list[list]:
    client = open_client(uri, 10_000)
    try:
        repo = ImageRepository(client, "bench_gallery")
        await repo.ensure_indexes()
        start = datetime(2025, 1, 1, tzinfo=UTC)
        began = time.perf_counter()
        for first in range(0, records, BATCH):
            batch = [record(i, start) for i in range(first, min(records, first + BATCH))]
            await repo.collection.insert_many(batch, ordered=False)
        seeded = time.perf_counter() - began
        deep = min(DEEP_PAGE, records // PAGE)
        # The key page `deep` starts after: the last record of page deep-1 (setup, not timed).
        cursor = (
            repo.collection.find({}, {"created_at": 1, "name": 1})
            .sort([("created_at", -1), ("name", -1)])
            .skip((deep - 1) * PAGE - 1)
            .limit(1)
        )
        last = (await cursor.to_list(1))[0]
        key = (last["created_at"], last["name"])
        first_times, deep_times = [], []
        for _ in range(rounds):
            first_times.append(await timed(repo.list_page(limit=PAGE)))
            deep_times.append(await timed(repo.list_page(before=key, limit=PAGE)))
        page = await repo.list_page(before=key, limit=PAGE)
        assert len(page) == PAGE and page[0].created_at <= key[0]
        return [seeded, first_times, deep_times, deep]
    finally:
        await client.close()


async def timed(call) -> float:
    began = time.perf_counter()
    await call
    return (time.perf_counter() - began) * 1000


def main() -> None:
    args = arguments(__doc__, seconds=0)
    records, rounds = (2_000, 5) if args.quick else (RECORDS, 50)
    rows = []
    for attempt in (1, 2):
        with scratch("gallery") as var, EmbeddedMongo(var / "db") as mongo:
            seeded, first, deep, page = asyncio.run(run(mongo.uri, records, rounds))
        first.sort(), deep.sort()
        ratio = deep[len(deep) // 2] / first[len(first) // 2]
        rows.append([
            attempt, f"{records:,}", f"{seeded:.1f} s", first[len(first) // 2], first[-1],
            page, deep[len(deep) // 2], deep[-1], f"{ratio:.2f}",
            "holds" if ratio <= TARGET else "MISSED",
        ])  # fmt: skip
    print_table(
        f"Gallery pages via ImageRepository.list_page ({PAGE} per page, {rounds} rounds)",
        [
            "run", "records", "seeding", "page 1 median ms", "page 1 max ms", "deep page",
            "deep median ms", "deep max ms", "ratio", f"target <= {TARGET}",
        ],
        rows,
    )  # fmt: skip


if __name__ == "__main__":
    main()
