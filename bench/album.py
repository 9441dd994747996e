"""Benchmark: an album of 1,000 images: its share page's first and a deep page, and its zip.

`python -m bench.album`: the real stack (app + nginx) on an embedded nx-27017 that this command
starts and seeds straight (insert_many): 1,000 image records in one album, beside 20 other
albums of 1,000 memberships each. wrk asks for `/a/<share id>` (page 1) and for
`/a/<share id>?after=<cursor>` (page 20 of 21) as htmx does while scrolling. Then the album's
zip is downloaded through nginx (every image file a hard link to one photo-like JPEG) while the
app's RSS is sampled: the zip must stream (first bytes long before the last) with flat memory.
"""

import asyncio
import os
import time
import urllib.request

from bench.common import (
    MIB,
    PeakRss,
    app_stack,
    arguments,
    first_and_deep,
    keyset_columns,
    photo_jpeg,
    print_table,
    require_tools,
    scratch,
    wait_settled,
)
from imagehost.albums.records import GAP, AlbumRecord, AlbumRepository
from imagehost.albums.service import PAGE_SIZE
from imagehost.database import ImageRecord, ImageRepository, open_client
from imagehost.embedded import EmbeddedMongo
from imagehost.migrations import prepare_database

IMAGES = 1_000
OTHER_ALBUMS = 20
DEEP_PAGE = 20
OWNER = "bench-owner-0000000000"
SHARE_ID = "benchShare000000"
TARGET = 1.2  # deep page p50 over first page p50
ZIP_RSS_TARGET_MB = 200
TILE = 'class="tile"'


def image(index: int, size: int) -> dict:
    return ImageRecord(
        name=f"{index:016d}.jpg", original_name=f"photo-{index}.jpg", format="jpeg",
        width=1600, height=1200, size=size, sha256=f"{index:064x}",
        delete_token_hash=f"{index:064x}", owner=OWNER, thumbnail=f"{index:016d}.thumb.jpg",
    ).to_document()  # fmt: skip


async def seed(uri: str, db_name: str, images: int, size: int, deep: int) -> tuple[float, str]:
    """The records; returns the seconds it took and the cursor that opens page `deep`."""
    client = open_client(uri, 10_000)
    try:
        repo, albums = ImageRepository(client, db_name), AlbumRepository(client, db_name)
        await prepare_database(repo)
        began = time.perf_counter()
        await repo.collection.insert_many([image(i, size) for i in range(images)])
        album = AlbumRecord("benchAlbum000000", SHARE_ID, OWNER, "Bench album")
        await albums.albums.insert_one(album.to_document())
        members = [
            {"album": album.album_id, "name": f"{i:016d}.jpg", "position": (i + 1) * GAP}
            for i in range(images)
        ]
        for other in range(OTHER_ALBUMS):
            members += [
                {"album": f"other{other:011d}", "name": f"{9_000_000 + i:016d}.jpg",
                 "position": (i + 1) * GAP}
                for i in range(images)
            ]  # fmt: skip
        await albums.members.insert_many(members, ordered=False)
        seeded = time.perf_counter() - began
        last = (deep - 1) * PAGE_SIZE - 1  # page `deep` starts after this one (setup)
        return seeded, f"{(last + 1) * GAP}.{last:016d}.jpg"
    finally:
        await client.close()


def fetch_tiles(url: str, headers: dict) -> int:
    request = urllib.request.Request(url, headers=headers)
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.read().decode().count(TILE)


def download(url: str) -> tuple[int, float, float, bytes]:
    """Bytes, seconds to the first chunk and to the end, and the last 64 KiB."""
    began = time.perf_counter()
    total, first, tail = 0, 0.0, b""
    with urllib.request.urlopen(url, timeout=600) as response:
        while chunk := response.read(256 * 1024):
            if not total:
                first = time.perf_counter() - began
            total += len(chunk)
            tail = (tail + chunk)[-65536:]
    return total, first, time.perf_counter() - began, tail


def main() -> None:
    args = arguments(__doc__, seconds=8)
    require_tools()
    images, deep, photo = (IMAGES, DEEP_PAGE, photo_jpeg((1600, 1200), MIB))
    if args.quick:
        images, deep, photo = PAGE_SIZE * 3, 2, photo_jpeg((400, 300), 64 * 1024)
    headers = {"HX-Request": "true"}
    zip_rows = []
    with scratch("album") as var, EmbeddedMongo(var / "db") as mongo:
        env = {"MONGODB_URI": mongo.uri, "MONGODB_DB": "bench"}
        seeded, cursor = asyncio.run(seed(mongo.uri, "bench", images, len(photo), deep))
        folder = var / "app" / "images"
        folder.mkdir(parents=True)
        (var / "photo.src").write_bytes(photo)
        for i in range(images):
            os.link(var / "photo.src", folder / f"{i:016d}.jpg")
        with app_stack(var / "app", env) as stack:
            first_url = f"{stack.url}/a/{SHARE_ID}"
            deep_url = f"{first_url}?after={cursor}"
            for url in (first_url, deep_url):  # both hold a full page of tiles (and warm up)
                if (tiles := fetch_tiles(url, headers)) != PAGE_SIZE:
                    raise RuntimeError(f"{url} shows {tiles} tiles, not {PAGE_SIZE}")
            rows = first_and_deep(first_url, deep_url, deep, args.seconds, headers, TARGET)
            wait_settled(1.0)
            with PeakRss(stack.app.pid) as idle:
                wait_settled(0.5)
            for attempt in (1, 2):
                with PeakRss(stack.app.pid) as peak:
                    size, first_s, total_s, tail = download(f"{first_url}/zip")
                if size < images * len(photo) or b"PK\x05\x06" not in tail:
                    raise RuntimeError(f"the zip is {size} bytes, or lacks its end record")
                verdict = "holds" if peak.app_peak < ZIP_RSS_TARGET_MB * MIB else "MISSED"
                zip_rows.append([
                    attempt, f"{size / MIB:.0f}", f"{1000 * first_s:.0f}", f"{total_s:.1f}",
                    f"{size / MIB / total_s:.0f}", idle.app_peak / MIB, peak.app_peak / MIB,
                    verdict,
                ])  # fmt: skip
    print_table(
        f"Album share page through nginx: {images:,} images in the album, "
        f"{OTHER_ALBUMS * images:,} other memberships (seeded in {seeded:.1f} s), "
        f"{PAGE_SIZE} per page, one client, {args.seconds:g} s per run",
        keyset_columns(deep, TARGET),
        rows,
    )  # fmt: skip
    print_table(
        f"Album zip through nginx: {images:,} images of {len(photo) / MIB:.2f} MiB",
        [
            "run", "zip MiB", "first bytes ms", "seconds", "MiB/s", "app RSS idle MiB",
            "app peak RSS MiB", f"< {ZIP_RSS_TARGET_MB} MB",
        ],
        zip_rows,
    )  # fmt: skip


if __name__ == "__main__":
    main()
