"""created_ms, the integer sort key the gallery and the admin list page by, in the database."""

from datetime import UTC, datetime, timedelta

from imagehost.database import ImageRecord
from imagehost.migrations import wait_for_database
from tests.records import image_record


def record(index: int, created: datetime) -> ImageRecord:
    return image_record(
        f"{index:016d}.png", original_name=f"{index}.png", owner="me",
        thumbnail=f"{index:016d}.thumb.png", created_at=created,
    )  # fmt: skip


async def test_records_from_a_foreign_dump_get_the_key_and_show_up(ctx):
    start = datetime(2026, 1, 1, tzinfo=UTC)
    docs = [record(i, start + timedelta(milliseconds=i)).to_document() for i in range(5)]
    for doc in docs[:3]:
        del doc["created_ms"]  # as a dump made without the key would hold them
    await ctx.repo.collection.insert_many(docs)
    newest = docs[4]["name"], docs[3]["name"]
    page = await ctx.repo.list_page(owner="me", limit=10)
    # Without the key they sort last and no keyset page after the first can reach them.
    assert tuple(r.name for r in page[:2]) == newest
    assert await ctx.repo.list_page(owner="me", before=(page[1].created_at, page[1].name)) == []
    assert await ctx.repo.add_missing_sort_keys() == 3
    names = [r.name for r in await ctx.repo.list_page(owner="me", limit=10)]
    assert names == [d["name"] for d in reversed(docs)]
    assert await ctx.repo.add_missing_sort_keys() == 0


async def test_start_up_runs_the_migration_by_name_and_the_indexes_change_no_record(ctx, log_lines):
    start = datetime(2026, 1, 1, tzinfo=UTC)
    docs = [record(i, start + timedelta(milliseconds=i)).to_document() for i in range(3)]
    for doc in docs[:2]:
        del doc["created_ms"]
    await ctx.repo.collection.insert_many(docs)
    missing = {"created_ms": {"$exists": False}}
    await ctx.repo.ensure_indexes()
    assert await ctx.repo.collection.count_documents(missing) == 2
    await wait_for_database(ctx.repo)
    assert await ctx.repo.collection.count_documents(missing) == 0
    assert "INFO migration created_ms sort keys: 2 records changed\n" in log_lines
    await wait_for_database(ctx.repo)  # nothing left to change: nothing logged
    assert sum("migration" in line for line in log_lines) == 1


async def test_pages_follow_each_other_across_equal_milliseconds(ctx):
    start = datetime(2026, 1, 1, tzinfo=UTC)
    # Groups of three records share one millisecond; keyset pages of 4 cut through them.
    docs = [record(i, start + timedelta(milliseconds=i // 3)).to_document() for i in range(30)]
    await ctx.repo.collection.insert_many(docs)
    seen, before = [], None
    while page := await ctx.repo.list_page(owner="me", before=before, limit=4):
        seen += [r.name for r in page]
        before = (page[-1].created_at, page[-1].name)
    expected = sorted(docs, key=lambda d: (d["created_ms"], d["name"]), reverse=True)
    assert seen == [d["name"] for d in expected]
