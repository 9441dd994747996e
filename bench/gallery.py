"""Benchmark 3: the gallery's first page vs page 500, with 100,000 records in the database.

`python -m bench.gallery`: the real stack (app + nginx) on an embedded nx-27017 that this
command starts, so it can seed the records straight into it with insert_many (not through
uploads). One owner has them all; wrk then asks for `/gallery` (page 1) and for
`/gallery?before=<cursor>` (page 500) with that owner's cookie, as htmx does while scrolling.
"""

import asyncio
import re
import time
import urllib.request
from datetime import UTC, datetime, timedelta

from tornado.web import create_signed_value

from bench.common import (
    app_stack,
    arguments,
    first_and_deep,
    keyset_columns,
    print_table,
    require_tools,
    scratch,
)
from imagehost.database import ImageRecord, ImageRepository, open_client
from imagehost.embedded import EmbeddedMongo
from imagehost.gallery import PAGE_SIZE, encode_cursor

RECORDS = 100_000
DEEP_PAGE = 500
BATCH = 5_000
OWNER = "bench-owner-0000000000"
SECRET = "bench-" + "s" * 40
TARGET = 1.2
CARD_IMAGE = re.compile(r"/images/(\d{16})\.jpg")


def document(index: int, start: datetime) -> dict:
    # An upload every 2.5 s or so: several share a second, as on a busy host.
    return ImageRecord(
        name=f"{index:016d}.jpg",
        original_name=f"photo-{index}.jpg",
        format="jpeg",
        width=1024,
        height=768,
        size=100_000,
        sha256=f"{index:064x}",
        delete_token_hash=f"{index:064x}",
        owner=OWNER,
        thumbnail=f"{index:016d}.thumb.jpg",
        created_at=start + timedelta(milliseconds=2500 * index + index % 7),
    ).to_document()


async def seed(uri: str, db_name: str, records: int, deep: int) -> tuple[float, str]:
    """Insert the records; return the seconds it took and the cursor that opens page `deep`."""
    client = open_client(uri, 10_000)
    try:
        repo = ImageRepository(client, db_name)
        await repo.ensure_indexes()
        start = datetime(2024, 1, 1, tzinfo=UTC)
        began = time.perf_counter()
        for first in range(0, records, BATCH):
            batch = [document(i, start) for i in range(first, min(records, first + BATCH))]
            await repo.collection.insert_many(batch, ordered=False)
        seeded = time.perf_counter() - began
        # Page `deep` starts after the last record of page deep-1 (setup, not timed).
        docs = (
            await repo.collection.find({"owner": OWNER})
            .sort([("created_ms", -1), ("name", -1)])
            .skip((deep - 1) * PAGE_SIZE - 1)
            .limit(1)
            .to_list(1)
        )
        return seeded, encode_cursor(ImageRecord.from_document(docs[0]))
    finally:
        await client.close()


def main() -> None:
    args = arguments(__doc__, seconds=8)
    require_tools()
    records, deep = (RECORDS, DEEP_PAGE) if not args.quick else (PAGE_SIZE * 10, 10)
    cookie = create_signed_value(SECRET, "owner", OWNER).decode()
    headers = {"Cookie": f"owner={cookie}", "HX-Request": "true"}
    with scratch("gallery") as var, EmbeddedMongo(var / "db") as mongo:
        env = {"MONGODB_URI": mongo.uri, "MONGODB_DB": "bench", "COOKIE_SECRET": SECRET}
        seeded, cursor = asyncio.run(seed(mongo.uri, "bench", records, deep))
        with app_stack(var / "app", env) as stack:
            first_url = f"{stack.url}/gallery"
            deep_url = f"{stack.url}/gallery?before={cursor}"
            for url in (first_url, deep_url):  # both hold a full page of cards (and warm up)
                request = urllib.request.Request(url, headers=headers)
                with urllib.request.urlopen(request, timeout=30) as response:
                    names = CARD_IMAGE.findall(response.read().decode())
                if len(set(names)) != PAGE_SIZE:
                    raise RuntimeError(f"{url} shows {len(set(names))} images, not {PAGE_SIZE}")
            rows = first_and_deep(first_url, deep_url, deep, args.seconds, headers, TARGET)
    print_table(
        f"Gallery through nginx: {records:,} records (seeded in {seeded:.0f} s), "
        f"{PAGE_SIZE} per page, one client, {args.seconds:g} s per run",
        keyset_columns(deep, TARGET),
        rows,
    )  # fmt: skip


if __name__ == "__main__":
    main()
