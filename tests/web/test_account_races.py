"""What a request signed in just before its account was deleted or disabled makes: an upload or
an album whose record goes in after the admin's delete swept the account is removed again (401
account_gone), so nothing survives owned by an account that is gone. Each race is held open
at one point (the record's insert) by an asyncio.Event, not by timing."""

import asyncio
import json

import pytest

from imagehost.accounts.service import Accounts
from tests import images
from tests.web.accounts import body, token_upload, user_with_token

PNG = images.png()


class Held:
    """Every call of `target.name` waits, once called (`reached`), until `opened` is set."""

    def __init__(self, monkeypatch, target, name: str) -> None:
        self.reached = asyncio.Event()
        self.opened = asyncio.Event()
        real = getattr(target, name)

        async def held(*args, **kwargs):
            self.reached.set()
            await self.opened.wait()
            return await real(*args, **kwargs)

        monkeypatch.setattr(target, name, held)

    async def meanwhile(self, request, action):
        """Start `request`, run `action` while it is held before its insert, then let it go."""
        task = asyncio.ensure_future(request)
        await asyncio.wait_for(self.reached.wait(), 30)
        await action()
        self.opened.set()
        return await task


async def alice_with_token(ctx, client):
    browser, token = await user_with_token(client)
    return browser, token, await ctx.accounts.users.by_name("alice")


async def delete(admin, user, images: str) -> None:
    form = {"images": images}
    response = await admin.request("POST", f"/admin/users/{user.id}/delete", form=form)
    assert response.code == 200, response.body


def stored_files(ctx) -> list[str]:
    return sorted(p.name for p in ctx.settings.images_dir.iterdir())


def gone(response) -> None:
    assert response.code == 401, response.body
    answer = json.loads(response.body)
    assert answer["code"] == "account_gone", answer
    assert "deleted or disabled" in answer["error"]


@pytest.mark.parametrize("images", ["delete", "keep"])
async def test_a_token_upload_in_flight_while_its_account_is_deleted_leaves_nothing(
    open_site, client, admin, monkeypatch, images
):
    ctx = open_site
    _, token, user = await alice_with_token(ctx, client)
    held = Held(monkeypatch, ctx.repo, "insert")
    refused = await held.meanwhile(token_upload(client, token), lambda: delete(admin, user, images))
    gone(refused)
    assert refused.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    # Neither left under the account that is gone, nor given to nobody ("keep"): no record,
    # no image file, no thumbnail.
    assert await ctx.repo.count() == 0 and stored_files(ctx) == []


async def test_an_upload_held_while_another_process_deletes_the_account_is_removed(
    open_site, client, monkeypatch
):
    ctx = open_site
    _, token, user = await alice_with_token(ctx, client)
    other = Accounts(ctx.settings, ctx.repo.client, uploads=ctx.uploads)  # another replica's
    admin = await other.users.by_name(ctx.settings.admin_username)
    held = Held(monkeypatch, ctx.repo, "insert")

    async def deleted_elsewhere():
        await other.delete_user(user, admin, keep_images=False)

    russian = {"Accept-Language": "ru"}
    upload = token_upload(client, token, path="/api/v1/images", headers=russian)
    refused = await held.meanwhile(upload, deleted_elsewhere)
    assert refused.code == 401 and json.loads(refused.body)["code"] == "account_gone"
    assert json.loads(refused.body)["error"].startswith("вашу учётную запись удалили")
    assert await ctx.repo.count() == 0 and stored_files(ctx) == []


async def test_a_session_upload_in_flight_while_its_account_is_disabled_is_refused(
    open_site, client, admin, monkeypatch
):
    ctx = open_site
    browser, token, user = await alice_with_token(ctx, client)
    assert (await token_upload(client, token)).code == 201  # before: kept through the disable
    kept = stored_files(ctx)
    held = Held(monkeypatch, ctx.repo, "insert")

    async def disable():
        response = await admin.request("POST", f"/admin/users/{user.id}/disable")
        assert response.code == 200, response.body

    refused = await held.meanwhile(browser.upload(PNG), disable)
    assert refused.code == 401
    assert "deleted or disabled" in body(refused) and 'class="error-message"' in body(refused)
    assert await ctx.repo.count() == 1 and stored_files(ctx) == kept
    assert (await ctx.accounts.users.get(user.id)).status == "disabled"


@pytest.mark.parametrize("images", ["delete", "keep"])
async def test_an_album_made_in_flight_while_its_account_is_deleted_is_removed(
    open_site, client, admin, monkeypatch, images
):
    ctx = open_site
    browser, _, user = await alice_with_token(ctx, client)
    held = Held(monkeypatch, ctx.albums.albums, "insert")
    made = browser.request("POST", "/albums", form={"title": "Trip"}, htmx=True)
    refused = await held.meanwhile(made, lambda: delete(admin, user, images))
    assert refused.code == 401 and "deleted or disabled" in body(refused)
    assert await ctx.albums.albums.albums.count_documents({}) == 0


async def test_an_upload_going_in_after_the_sweep_but_before_the_account_goes_is_removed(
    open_site, client, monkeypatch
):
    # The account still exists then, disabled: being there is not enough, it must be active.
    ctx = open_site
    _, token, user = await alice_with_token(ctx, client)
    admin = await ctx.accounts.users.by_name(ctx.settings.admin_username)
    insert = Held(monkeypatch, ctx.repo, "insert")
    last_step = Held(monkeypatch, ctx.accounts.users, "delete")
    upload = asyncio.ensure_future(token_upload(client, token))
    await asyncio.wait_for(insert.reached.wait(), 30)
    deleting = asyncio.ensure_future(ctx.accounts.delete_user(user, admin, keep_images=False))
    await asyncio.wait_for(last_step.reached.wait(), 30)  # swept; the user record not yet gone
    insert.opened.set()
    gone(await upload)
    last_step.opened.set()
    assert (await deleting).images == 0
    assert await ctx.repo.count() == 0 and stored_files(ctx) == []
