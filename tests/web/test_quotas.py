"""Quotas: an upload past an account's bytes stored or images in 24 hours is refused (403
quota_bytes, quota_daily) through the page, the form and a Bearer token, and leaves nothing;
the admin's per-user override; the account page and /api/v1/me say where the user stands."""

import json
import os
from datetime import UTC, datetime, timedelta

import pytest

from imagehost.accounts.quotas import Limits, check_upload
from imagehost.refusal import Refusal
from tests import images
from tests.records import image_record
from tests.web.accounts import (
    bearer,
    reconfigure,
    sign_in,
    token_upload,
    user_with_token,
)
from tests.web.client import new_browser

PNG = images.png()


async def alice(ctx, client, **quota):
    """alice, signed in on a browser and with a token, her quota overridden by `quota`."""
    browser, token = await user_with_token(client, "alice")
    user = await ctx.accounts.users.by_name("alice")
    if quota:
        await ctx.accounts.users.update(user.id, **quota)
    return browser, token, await ctx.accounts.users.get(user.id)


def stored_size() -> int:
    """What one upload of PNG stores (it has no metadata to strip)."""
    return len(PNG)


async def records_of(ctx, owner: str) -> list[str]:
    return [r.name for r in await ctx.repo.list_page(owner=owner, limit=100)]


def files(ctx) -> list[str]:
    return sorted(os.listdir(ctx.settings.images_dir))


async def test_bytes_past_the_quota_are_refused_on_the_page(open_site, client):
    ctx = open_site
    browser, _, user = await alice(ctx, client, quota_bytes=2 * stored_size() + 10)
    for _ in range(2):
        assert (await browser.upload(PNG)).code == 201
    kept = files(ctx)
    refused = await browser.upload(PNG)  # htmx: the page shows the fragment's reason
    assert refused.code == 403
    text = refused.body.decode()
    assert 'class="error-message"' in text
    assert "storage is full" in text and f"{2 * stored_size()} B" in text, text
    assert len(await records_of(ctx, user.owner)) == 2 and files(ctx) == kept


async def test_bytes_past_the_quota_are_refused_on_the_plain_form(open_site, client):
    ctx = open_site
    browser, _, user = await alice(ctx, client, quota_bytes=stored_size() - 1)
    refused = await browser.submit_form(PNG)
    assert refused.code == 403
    assert "<html" in refused.body.decode() and "storage is full" in refused.body.decode()
    assert await records_of(ctx, user.owner) == [] and files(ctx) == []


async def test_bytes_past_the_quota_through_the_api_in_russian(open_site, client):
    ctx = open_site
    _, token, user = await alice(ctx, client, quota_bytes=stored_size() + 1)
    assert (await token_upload(client, token, path="/api/v1/images")).code == 201
    refused = await token_upload(
        client, token, path="/api/v1/images", headers={"Accept-Language": "ru"}
    )
    assert refused.code == 403
    answer = json.loads(refused.body)
    assert answer["code"] == "quota_bytes"
    size = f"{stored_size()} Б"
    assert answer["error"].startswith("хранилище вашей учётной записи заполнено"), answer
    assert size in answer["error"] and f"{stored_size() + 1} Б" in answer["error"]
    assert len(await records_of(ctx, user.owner)) == 1


async def test_images_a_day_count_the_last_24_hours(open_site, client):
    ctx = open_site
    _, token, user = await alice(ctx, client, quota_images_per_day=2)
    old = datetime.now(UTC) - timedelta(hours=24, minutes=1)
    await ctx.repo.insert(image_record("OLDOLDOLDOLDOLD0.png", owner=user.owner, created_at=old))
    uploaded = []
    for _ in range(2):
        response = await token_upload(client, token)
        assert response.code == 201, response.body
        uploaded.append(json.loads(response.body))
    refused = await token_upload(client, token, headers={"Accept-Language": "ru"})
    assert refused.code == 403
    answer = json.loads(refused.body)
    assert answer["code"] == "quota_daily"
    assert "2 изображения в сутки" in answer["error"], answer
    assert "загрузила 2 изображения" in answer["error"], answer
    assert len(await records_of(ctx, user.owner)) == 3
    # A deleted image no longer counts: the quota is of what is stored.
    deleted = await client.request(
        "DELETE", f"/api/v1/images/{uploaded[0]['name']}",
        headers={"X-Delete-Token": uploaded[0]["delete_token"]},
    )  # fmt: skip
    assert deleted.code == 200
    assert (await token_upload(client, token)).code == 201


async def test_the_defaults_apply_to_users_not_to_admins_nor_anonymous_uploads(
    open_site, client, admin, visitor
):
    ctx = open_site
    reconfigure(ctx, quota=Limits(stored_size() - 1, 0))
    _, token, _ = await alice(ctx, client)
    assert json.loads((await token_upload(client, token)).body)["code"] == "quota_bytes"
    assert (await admin.upload(PNG)).code == 201
    assert (await visitor.upload(PNG)).code == 201
    reconfigure(ctx, quota=Limits(0, 1))
    assert (await token_upload(client, token)).code == 201
    assert json.loads((await token_upload(client, token)).body)["code"] == "quota_daily"
    # An override on an admin applies to them.
    me = await ctx.accounts.users.by_name(ctx.settings.admin_username)
    await ctx.accounts.users.update(me.id, quota_images_per_day=1)
    assert (await admin.upload(PNG)).code == 403


async def test_uploads_racing_past_the_first_check_are_removed_again(open_site, client):
    """Two processes' uploads both pass the check made before their files are written; the
    one that then finds the account over its limit, itself counted, removes itself."""
    ctx = open_site
    _, _, user = await alice(ctx, client, quota_images_per_day=1)
    rival = image_record("RIVALRIVALRIVAL0.png", owner=user.owner, size=10)
    checks, rivals = [], [rival]

    async def racing(size: int, stored: bool) -> None:
        await check_upload(ctx.repo, user, ctx.settings.quota, size, stored)
        checks.append(stored)
        if rivals:  # the other upload's record goes in while this one writes its files
            await ctx.repo.insert(rivals.pop())

    with pytest.raises(Refusal) as refused:
        await ctx.uploads.accept(PNG, "cat.png", owner=user.owner, check=racing)
    assert refused.value.code == "quota_daily" and checks == [False]
    assert await records_of(ctx, user.owner) == [rival.name]
    assert files(ctx) == []
    # Alone, the same upload is taken: the second check counts itself once.
    await ctx.uploads.delete(rival)
    taken = await ctx.uploads.accept(PNG, "cat.png", owner=user.owner, check=racing)
    assert checks == [False, False, True]
    assert await records_of(ctx, user.owner) == [taken.record.name]


async def test_the_admin_overrides_a_users_quota(open_site, client, admin):
    ctx = open_site
    _, token, user = await alice(ctx, client)
    path = f"/admin/users/{user.id}/quota"
    form = {"quota_bytes": "100", "quota_images_per_day": "3"}
    set_ = await admin.request("POST", path, htmx=True, form=form)
    assert set_.code == 200, set_.body
    fragment = set_.body.decode()
    assert f'id="quota-{user.id}"' in fragment and "0 B of 100 B" in fragment
    assert 'value="100"' in fragment and 'value="3"' in fragment
    # The page's notice, swapped in beside the fragment, says what is set.
    assert '<div id="users-notice" hx-swap-oob="true">' in fragment
    assert "The quota of alice is set. Storage: 100 B. Images a day: 3." in fragment
    stored = await ctx.accounts.users.get(user.id)
    assert (stored.quota_bytes, stored.quota_images_per_day) == (100, 3)
    assert json.loads((await token_upload(client, token)).body)["code"] == "quota_bytes"
    # Each row of the users table holds the same fragment, with what the user stores.
    assert (await token_upload(client, token)).code == 403
    page = (await admin.request("GET", "/admin/users")).body.decode()
    row = page[page.index(f'id="user-{user.id}"') :]
    assert row.index(f'id="quota-{user.id}"') < row.index("</tr>")
    assert "0 B of 100 B; 3 images a day" in " ".join(row.split())
    assert f'action="/admin/users/{user.id}/quota"' in row
    # Empty is the default again; 0 is no limit. A plain form gets the table, saying so.
    form = {"quota_bytes": "", "quota_images_per_day": "0"}
    answer = await admin.request("POST", path, form=form)
    assert answer.code == 200 and f'id="quota-{user.id}"' in answer.body.decode()
    said = "The quota of alice is set. Storage: 5.0 GiB (the default). Images a day: no limit."
    assert said in answer.body.decode()
    russian = await admin.request(
        "POST", path, form=form, headers={"Cookie": admin.headers()["Cookie"] + "; lang=ru"}
    )
    said = (
        "Квота пользователя alice задана. Хранилище: 5,0 ГиБ (по умолчанию). Изображений в "
        "сутки: без предела."
    )
    assert said in russian.body.decode()
    stored = await ctx.accounts.users.get(user.id)
    assert (stored.quota_bytes, stored.quota_images_per_day) == (None, 0)
    assert (await token_upload(client, token)).code == 201


@pytest.mark.parametrize("field, value", [("quota_bytes", "lots"), ("quota_images_per_day", "-1"),
                                          ("quota_bytes", "2048T")])  # fmt: skip
async def test_a_bad_override_is_refused_and_changes_nothing(
    open_site, client, admin, field, value
):
    _, _, user = await alice(open_site, client, quota_bytes=5)
    refused = await admin.request("POST", f"/admin/users/{user.id}/quota", form={field: value})
    assert refused.code == 400
    assert (await open_site.accounts.users.get(user.id)).quota_bytes == 5


async def test_only_an_admin_sets_a_quota(open_site, client, admin):
    browser, token, user = await alice(open_site, client)
    path = f"/admin/users/{user.id}/quota"
    form = {"quota_bytes": "0", "quota_images_per_day": "0"}
    assert (await browser.request("POST", path, form=form)).code == 403
    headers = {**bearer(token), "Accept": "application/json"}
    answer = await client.request("POST", path, body="quota_bytes=0", headers=headers)
    assert answer.code in (401, 403)
    assert (await admin.request("POST", path, form=form, xsrf=False)).code == 403
    assert (await open_site.accounts.users.get(user.id)).quota_bytes is None
    unknown = await admin.request("POST", "/admin/users/0123456789abcdef01234567/quota", form=form)
    assert unknown.code == 404


async def test_the_user_sees_where_they_stand(open_site, client):
    ctx = open_site
    reconfigure(ctx, quota=Limits(1024**3, 500))
    browser, token, _ = await alice(ctx, client)
    assert (await token_upload(client, token)).code == 201
    me = json.loads((await client.request("GET", "/api/v1/me", headers=bearer(token))).body)
    assert me["usage"] == {"images": 1, "bytes": stored_size(), "images_today": 1}
    assert me["quota"] == {"bytes": 1024**3, "images_per_day": 500}
    page = (await browser.request("GET", "/account")).body.decode()
    assert "You store 1 image, " in page and "of your 1.0 GiB." in page
    assert "you uploaded 1 image of the 500 a day" in page
    await ctx.accounts.users.update(
        (await ctx.accounts.users.by_name("alice")).id, quota_bytes=0, quota_images_per_day=0
    )
    me = json.loads((await client.request("GET", "/api/v1/me", headers=bearer(token))).body)
    assert me["quota"] == {"bytes": None, "images_per_day": None}
    russian = await browser.request("GET", "/account", headers={"Accept-Language": "ru"})
    assert "нет предела" in russian.body.decode()


async def test_a_new_browser_of_the_account_is_held_to_the_same_quota(open_site, client):
    ctx = open_site
    _, token, user = await alice(ctx, client, quota_images_per_day=1)
    assert (await token_upload(client, token)).code == 201
    other = await new_browser(client)
    assert (await sign_in(other)).code == 303
    assert (await other.upload(PNG)).code == 403
    assert len(await records_of(ctx, user.owner)) == 1
