"""The running total of the bytes each account stores (User.stored_bytes), which the bytes quota
reads instead of summing the account's records: an upload adds its record's bytes, the one
delete path takes them off, adopted images join it, and an account without one (from before
it) is checked from its records and counted at start-up."""

import json
from functools import partial

import pytest

from imagehost.accounts.quotas import Limits
from imagehost.backups.restore import restore
from imagehost.refusal import Refusal
from tests import images
from tests.web.accounts import reconfigure, sign_up, token_upload, user_with_token

PNG = images.png()
SIZE = len(PNG)  # what one upload of PNG stores: it has no metadata to strip


async def alice(ctx, client, **changes):
    _, token = await user_with_token(client)
    user = await ctx.accounts.users.by_name("alice")
    if changes:
        await ctx.accounts.users.update(user.id, **changes)
    return token, await ctx.accounts.users.get(user.id)


async def total(ctx, user) -> int | None:
    return (await ctx.accounts.users.get(user.id)).stored_bytes


async def summed(ctx, user) -> int:
    return sum(r.size for r in await ctx.repo.list_page(owner=user.owner, limit=100))


async def test_uploads_add_and_every_delete_takes_off(open_site, client, admin):
    ctx = open_site
    token, user = await alice(ctx, client)
    assert await total(ctx, user) == 0  # a new account starts counted
    made = [json.loads((await token_upload(client, token)).body) for _ in range(3)]
    assert await total(ctx, user) == 3 * SIZE == await summed(ctx, user)
    deleted = await client.request(
        "DELETE", f"/api/v1/images/{made[0]['name']}",
        headers={"X-Delete-Token": made[0]["delete_token"]},
    )  # fmt: skip
    assert deleted.code == 200
    assert await total(ctx, user) == 2 * SIZE
    record = await ctx.repo.get(made[1]["name"])
    await ctx.uploads.delete(record)
    await ctx.uploads.delete(record)  # deleted twice (two processes at once): taken off once
    assert await total(ctx, user) == SIZE == await summed(ctx, user)
    assert (await admin.upload(PNG)).code == 201  # another account's upload is not alice's
    assert await total(ctx, user) == SIZE


async def test_the_bytes_quota_reads_the_total_not_the_records(open_site, client):
    ctx = open_site
    token, user = await alice(ctx, client, quota_bytes=10 * SIZE)
    await ctx.accounts.users.set_stored(user.id, 10 * SIZE - 1)  # as if nearly full
    refused = await token_upload(client, token)
    assert refused.code == 403 and json.loads(refused.body)["code"] == "quota_bytes"
    assert "it stores 1.4 KiB of its 1.4 KiB" in json.loads(refused.body)["error"]
    assert await ctx.repo.count() == 0 and await total(ctx, user) == 10 * SIZE - 1


async def test_of_uploads_racing_for_the_last_room_only_what_fits_is_kept(open_site, client):
    """Both pass the check made before the files are written; each adds its bytes once its
    record is in, and the one that finds the total over the limit removes itself."""
    ctx = open_site
    _, user = await alice(ctx, client, quota_bytes=SIZE + SIZE // 2)
    check, rivals = partial(ctx.accounts.check_upload, user), ["rival.png"]

    async def racing(size: int, stored: bool) -> None:
        await check(size, stored)
        if rivals:  # another upload of the account is taken while this one writes its files
            await ctx.uploads.accept(PNG, rivals.pop(), owner=user.owner, check=check)

    with pytest.raises(Refusal) as refused:
        await ctx.uploads.accept(PNG, "cat.png", owner=user.owner, check=racing)
    assert refused.value.code == "quota_bytes"
    kept = await ctx.repo.list_page(owner=user.owner)
    assert [r.original_name for r in kept] == ["rival.png"]
    assert await total(ctx, user) == SIZE


async def test_an_account_from_before_the_total_is_checked_from_its_records_then_counted(
    open_site, client
):
    ctx = open_site
    token, user = await alice(ctx, client, quota_bytes=2 * SIZE + SIZE // 2)
    for _ in range(2):
        assert (await token_upload(client, token)).code == 201
    await ctx.accounts.users.update(user.id, stored_bytes=None)  # as an older install left it
    refused = await token_upload(client, token)
    assert refused.code == 403 and json.loads(refused.body)["code"] == "quota_bytes"
    assert await total(ctx, user) is None and await ctx.repo.count() == 2
    await ctx.accounts.prepare()  # the next start counts it from its records
    assert await total(ctx, user) == 2 * SIZE
    reconfigure(ctx, quota=Limits(0, 0))
    await ctx.accounts.users.update(user.id, quota_bytes=None)
    assert (await token_upload(client, token)).code == 201
    assert await total(ctx, user) == 3 * SIZE == await summed(ctx, user)


async def test_images_adopted_on_sign_up_join_the_total(open_site, client, visitor):
    ctx = open_site
    for _ in range(2):
        assert (await visitor.upload(PNG)).code == 201
    assert (await sign_up(visitor)).code == 303
    user = await ctx.accounts.users.by_name("alice")
    assert await total(ctx, user) == 2 * SIZE == await summed(ctx, user)


async def test_a_restore_counts_every_account_again(open_site, client):
    # The backup's accounts and records are written apart: its totals are not trusted.
    ctx = open_site
    token, user = await alice(ctx, client)
    assert (await token_upload(client, token)).code == 201
    await ctx.accounts.users.set_stored(user.id, 12345)  # as a total written apart may be
    path = ctx.backups.path((await ctx.backups.run()).name)
    await restore(path, ctx.repo, ctx.storage, replace=True)
    assert await total(ctx, user) == SIZE == await summed(ctx, user)
