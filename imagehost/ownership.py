"""Moving what a browser owns anonymously into an account, in one place: on sign-up and
sign-in. Every collection keyed on an owner (images, albums) is moved here."""

from .accounts.users import OWNER_PREFIX
from .context import AppContext


async def adopt(ctx: AppContext, from_owner: str, to_owner: str) -> dict[str, int]:
    """Give everything of `from_owner` (an anonymous browser) to `to_owner`; returns how many
    of each kind moved. Another account's things are never moved."""
    if not from_owner or from_owner.startswith(OWNER_PREFIX) or from_owner == to_owner:
        return {"images": 0, "albums": 0}
    images, size = await ctx.repo.give(from_owner, to_owner)
    if size:  # into the account's running total of stored bytes
        await ctx.accounts.users.add_stored(to_owner.removeprefix(OWNER_PREFIX), size)
    return {
        "images": images,
        "albums": await ctx.albums.albums.change_owner(from_owner, to_owner),
    }
