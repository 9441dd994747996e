"""What each owner stores: images and bytes, from one aggregate per owner over `images` (the
users table, the account page, /api/v1/me and the quotas all read it here); and the accounts'
running totals of stored bytes counted from it."""

import asyncio
from dataclasses import dataclass
from datetime import datetime

from ..database import ImageRepository, millis
from .users import OWNER_PREFIX, UserRepository

# Owners asked for at once: a page of the users table is 50, and each is a query of its own.
AT_ONCE = 8


@dataclass(frozen=True)
class Usage:
    images: int
    bytes: int


NONE = Usage(0, 0)


async def usage_by_owner(
    repo: ImageRepository, owners: list[str], *, since: datetime | None = None
) -> dict[str, Usage]:
    """Usage of each owner in `owners` (an owner with nothing gets Usage(0, 0)); with `since`,
    of the images uploaded at or after it only. Records whose time is up but that the
    sweeper has not yet deleted still count: they are still stored."""
    # One aggregate per owner, by equality, AT_ONCE at a time: the owner index serves that on
    # nx-27017 as on MongoDB, where nx-27017 reads every record for one $in of many owners (at
    # 100,000 records and 50 owners, 110-160 ms of its CPU for the 50 against 180-210 ms).
    owners = list(dict.fromkeys(owners))
    gate = asyncio.Semaphore(AT_ONCE)

    async def one(owner: str) -> Usage:
        async with gate:
            return await usage_of(repo, owner, since=since)

    usages = await asyncio.gather(*(one(owner) for owner in owners))
    return dict(zip(owners, usages, strict=True))


async def usage_of(repo: ImageRepository, owner: str, *, since: datetime | None = None) -> Usage:
    """What `owner` stores (or uploaded at or after `since`): one aggregate on the owner index."""
    match: dict = {"owner": owner}
    if since is not None:
        match["created_ms"] = {"$gte": millis(since)}
    sums = await repo.sums(match, by=None)
    return Usage(*sums[None]) if None in sums else NONE


async def count_stored(repo: ImageRepository, users: UserRepository, *, every: bool = False) -> int:
    """Set the running total of stored bytes (User.stored_bytes) of each account that has none
    yet (at start-up: accounts from before it) from its records; with `every`, of every
    account (after a restore, whose records and accounts were written apart). Returns how many
    accounts were counted."""
    ids = await users.ids(uncounted=not every)
    for user_id in ids:
        size = (await usage_of(repo, OWNER_PREFIX + user_id)).bytes
        await users.set_stored(user_id, size, if_uncounted=not every)
    return len(ids)
