"""Benchmark: the admin's users page with 1,000 accounts and 100,000 images on nx-27017.

`python -m bench.users_page`: the real stack (app + nginx) on an embedded nx-27017 that this
command starts and seeds straight (insert_many: the accounts, their images spread evenly over
them, an admin session). It then asks for `/admin/users` (the first page) and for a page in the
middle (`?after=<name>`), one request at a time, and reports the median time per page and the
CPU time (user + system) per page of the app's processes and of the database's.
"""

import asyncio
import os
import statistics
import time
import urllib.request
from datetime import UTC, datetime, timedelta

from bench.common import app_stack, arguments, cpu_seconds, print_table, process_tree, scratch
from imagehost.accounts.sessions import SESSION_COOKIE, SessionStore
from imagehost.accounts.users import User, UserRepository
from imagehost.database import ImageRecord, ImageRepository, open_client
from imagehost.embedded import EmbeddedMongo

USERS = 1_000
IMAGES = 100_000
BATCH = 5_000
ADMIN = "bench-admin"


def user_id(index: int) -> str:
    return f"{index:024x}"


def username(index: int) -> str:
    return f"user{index:04d}"


def image(index: int, users: int, start: datetime) -> dict:
    return ImageRecord(
        name=f"{index:016d}.jpg", original_name=f"photo-{index}.jpg", format="jpeg",
        width=1024, height=768, size=100_000 + index % 7, sha256=f"{index:064x}",
        delete_token_hash=f"{index:064x}", owner=f"user:{user_id(index % users)}",
        thumbnail=f"{index:016d}.thumb.jpg", created_at=start + timedelta(seconds=index),
    ).to_document()  # fmt: skip


async def seed(uri: str, db_name: str, users: int, images: int) -> tuple[float, str]:
    """The accounts, their images and an admin; returns the seconds it took and the admin's
    session id (for the cookie)."""
    client = open_client(uri, 10_000)
    try:
        accounts, sessions = UserRepository(client, db_name), SessionStore(client, db_name)
        repo = ImageRepository(client, db_name)
        for store in (accounts, sessions, repo):
            await store.ensure_indexes()
        began = time.perf_counter()
        await accounts.collection.insert_many(
            [User(user_id(i), username(i), "").to_document() for i in range(users)]
        )
        admin = User(user_id(users), ADMIN, "", role="admin")
        await accounts.insert(admin)
        start = datetime(2024, 1, 1, tzinfo=UTC)
        for first in range(0, images, BATCH):
            batch = [image(i, users, start) for i in range(first, min(images, first + BATCH))]
            await repo.collection.insert_many(batch, ordered=False)
        seeded = time.perf_counter() - began
        return seeded, await sessions.create(admin.id, 3600)
    finally:
        await client.close()


def timed(url: str, cookie: str, count: int, app: list[int], database: list[int]) -> list:
    """The median milliseconds of `count` requests for `url`, and the CPU milliseconds per
    request of the app's processes and of the database's."""
    request = urllib.request.Request(url, headers={"Cookie": cookie, "Accept": "text/html"})
    times = []
    before = cpu_seconds(app), cpu_seconds(database)
    for _ in range(count):
        began = time.perf_counter()
        with urllib.request.urlopen(request, timeout=120) as response:
            page = response.read().decode()
        times.append(time.perf_counter() - began)
        if 'id="user-' not in page:
            raise RuntimeError(f"{url} shows no accounts")
    pairs = zip((app, database), before, strict=True)
    used = [(cpu_seconds(pids) - start) * 1000 / count for pids, start in pairs]
    return [round(statistics.median(times) * 1000), *(round(ms) for ms in used)]


def main() -> None:
    args = arguments(__doc__, seconds=0)
    users, images, count = (USERS, IMAGES, 7) if not args.quick else (60, 600, 2)
    with scratch("users") as var, EmbeddedMongo(var / "db") as mongo:
        env = {"MONGODB_URI": mongo.uri, "MONGODB_DB": "bench"}
        seeded, session = asyncio.run(seed(mongo.uri, "bench", users, images))
        with app_stack(var / "app", env) as stack:
            app, database = process_tree(stack.app.pid), [mongo.process.pid]
            cookie = f"{SESSION_COOKIE}={session}"
            rows = []
            for label, query in (("first", ""), ("middle", f"?after={username(users // 2)}")):
                url = f"{stack.url}/admin/users{query}"
                timed(url, cookie, 1, app, database)  # warm up
                figures = timed(url, cookie, count, app, database)
                rows.append([label, f"/admin/users{query}", *figures])
            load = os.getloadavg()[0]
    print_table(
        f"Users page through nginx: {users:,} accounts, {images:,} images (seeded in "
        f"{seeded:.0f} s), {count} requests each, one at a time, load {load:.1f}",
        ["page", "URL", "median ms", "app CPU ms per page", "database CPU ms per page"],
        rows,
    )  # fmt: skip


if __name__ == "__main__":
    main()
