"""usage_by_owner against the embedded database: every owner asked for in the answer (each its
own aggregate), nobody else's images counted."""

from datetime import UTC, datetime, timedelta

from imagehost.accounts.usage import Usage, usage_by_owner
from tests.records import image_record

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


async def add(ctx, owner: str, sizes: list[int], created: datetime = NOW) -> None:
    for size in sizes:
        index = add.count = getattr(add, "count", 0) + 1
        name = f"U{index:015d}.png"
        await ctx.repo.insert(image_record(name, owner=owner, size=size, created_at=created))


async def test_each_owner_gets_its_images_and_bytes(ctx):
    await add(ctx, "user:a", [100, 250, 4096])
    await add(ctx, "user:b", [7])
    await add(ctx, "anonymous-owner", [1_000_000])
    await add(ctx, "", [5])
    usage = await usage_by_owner(ctx.repo, ["user:a", "user:b", "user:nobody"])
    assert usage == {
        "user:a": Usage(3, 4446),
        "user:b": Usage(1, 7),
        "user:nobody": Usage(0, 0),
    }


async def test_no_owners_and_an_empty_database(ctx):
    assert await usage_by_owner(ctx.repo, []) == {}
    assert await usage_by_owner(ctx.repo, ["user:a"]) == {"user:a": Usage(0, 0)}


async def test_an_owner_asked_for_twice_is_counted_once(ctx):
    await add(ctx, "user:a", [10, 20])
    assert await usage_by_owner(ctx.repo, ["user:a", "user:a"]) == {"user:a": Usage(2, 30)}


async def test_since_counts_only_the_images_uploaded_from_then(ctx):
    await add(ctx, "user:a", [1, 2], created=NOW - timedelta(days=1, seconds=1))
    await add(ctx, "user:a", [40, 80], created=NOW - timedelta(hours=3))
    await add(ctx, "user:a", [160], created=NOW)
    await add(ctx, "user:b", [1000], created=NOW)
    usage = await usage_by_owner(ctx.repo, ["user:a", "user:b"], since=NOW - timedelta(days=1))
    assert usage == {"user:a": Usage(3, 280), "user:b": Usage(1, 1000)}
    assert await usage_by_owner(ctx.repo, ["user:a"], since=NOW + timedelta(milliseconds=1)) == {
        "user:a": Usage(0, 0)
    }


async def test_a_page_of_many_owners_in_one_call(ctx):
    owners = [f"user:{i:04d}" for i in range(300)]
    for i, owner in enumerate(owners[:150]):
        await add(ctx, owner, [i + 1])
    usage = await usage_by_owner(ctx.repo, owners)
    assert list(usage) == owners
    assert [usage[o] for o in owners[:150]] == [Usage(1, i + 1) for i in range(150)]
    assert set(usage[o] for o in owners[150:]) == {Usage(0, 0)}


async def test_totals_still_add_up_every_owner(ctx):
    await add(ctx, "user:a", [3, 4])
    await add(ctx, "", [5])
    totals = await ctx.repo.totals(since=NOW)
    assert (totals.images, totals.bytes, totals.today) == (3, 12, 3)
