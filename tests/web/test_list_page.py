"""ImageRepository.list_page against the embedded database: limited queries that still walk
every record once, in order, when many records share one second."""

from datetime import UTC, datetime, timedelta

from imagehost.database import ImageRecord
from tests.records import image_record


def record(index: int, created: datetime) -> ImageRecord:
    return image_record(
        f"SAME{index:012d}.png",
        original_name=f"{index}.png",
        size=10,
        owner="walker",
        created_at=created,
    )


async def test_pages_walk_a_burst_within_one_second_exactly_once(ctx):
    second = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)
    # 60 uploads within one second (distinct milliseconds), plus older ones: far more rows of
    # the cursor's own second than one limited query of a 5-record page fetches.
    burst = [record(i, second + timedelta(milliseconds=10 * i)) for i in range(60)]
    older = [record(100 + i, second - timedelta(minutes=i + 1)) for i in range(7)]
    for item in burst + older:
        await ctx.repo.insert(item)
    expected = [r.name for r in sorted(burst + older, key=lambda r: (r.created_at, r.name))][::-1]
    seen, before = [], None
    while True:
        page = await ctx.repo.list_page(owner="walker", before=before, limit=5)
        seen += [r.name for r in page]
        if len(page) < 5:
            break
        before = (page[-1].created_at, page[-1].name)
    assert seen == expected
