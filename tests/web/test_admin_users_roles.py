"""The admin makes a user an admin and an admin a user: from the table (a plain form, or htmx
swapping the row), at once in every process, refused for their own account, the admin from
the settings and the last active admin; and the quota defaults follow the role."""

import json

import pytest

from imagehost.accounts.quotas import Limits
from imagehost.accounts.service import Accounts
from imagehost.accounts.sessions import SESSION_COOKIE
from imagehost.accounts.users import now_ms
from imagehost.refusal import Refusal
from tests.web.accounts import (
    body,
    reconfigure,
    sign_in,
    signed_in_as,
    token_upload,
    user_with_token,
)
from tests.web.client import new_browser


async def make(admin, user, role: str, htmx: bool = False, **extra):
    return await admin.request(
        "POST", f"/admin/users/{user.id}/role", form={"role": role}, htmx=htmx, **extra
    )


async def named(ctx, name: str):
    return await ctx.accounts.users.by_name(name)


async def test_a_user_is_made_an_admin_and_a_user_again(open_site, client, admin):
    browser, _ = await user_with_token(client)
    alice = await named(open_site, "alice")
    assert (await browser.request("GET", "/admin/users")).code == 403
    page = body(await admin.request("GET", "/admin/users"))
    row = page.split(f'id="user-{alice.id}"')[1].split("</tr>")[0]
    assert f'action="/admin/users/{alice.id}/role"' in row and 'value="admin"' in row
    response = await make(admin, alice, "admin")
    assert response.code == 200 and "alice is now an admin" in body(response)
    assert (await named(open_site, "alice")).role == "admin"
    # Her session (from before) opens the admin area on its next request.
    assert (await browser.request("GET", "/admin/users")).code == 200
    row = body(response).split(f'id="user-{alice.id}"')[1].split("</tr>")[0]
    assert ">admin<" in row and 'value="user"' in row
    response = await make(admin, alice, "user")
    assert response.code == 200 and "alice is a user again" in body(response)
    assert (await browser.request("GET", "/admin/users")).code == 403
    assert await signed_in_as(browser) == "alice"  # still signed in, as a user


async def test_over_htmx_the_row_is_swapped_and_the_notice_says_it(open_site, client, admin):
    await user_with_token(client)
    alice = await named(open_site, "alice")
    response = await make(admin, alice, "admin", htmx=True)
    fragment = body(response)
    assert response.code == 200 and fragment.lstrip().startswith(f'<tr id="user-{alice.id}"')
    assert "<html" not in fragment and ">admin<" in fragment
    assert 'id="users-notice" hx-swap-oob="true"' in fragment
    assert "alice is now an admin" in fragment
    assert (await named(open_site, "alice")).role == "admin"


async def test_a_demotion_holds_at_once_in_another_replica(open_site, client, admin):
    browser, _ = await user_with_token(client, "root")
    root = await named(open_site, "root")
    await make(admin, root, "admin")
    other = Accounts(open_site.settings, open_site.repo.client)
    raw = browser.cookies[SESSION_COOKIE]
    assert (await other.user_for_session(raw)).is_admin
    await make(admin, root, "user")
    user = await other.user_for_session(raw)
    assert user.username == "root" and not user.is_admin


async def test_a_new_admins_sessions_last_no_longer_than_an_admin_sign_in(open_site, client, admin):
    browser, _ = await user_with_token(client)
    alice = await named(open_site, "alice")
    sessions = open_site.accounts.sessions.collection
    (before,) = await sessions.find({"user_id": alice.id}).to_list()
    assert before["expires_ms"] > now_ms() + 24 * 3600 * 1000  # SESSION_DAYS
    await make(admin, alice, "admin")
    (after,) = await sessions.find({"user_id": alice.id}).to_list()
    hours = open_site.settings.admin_session_hours
    assert now_ms() < after["expires_ms"] <= now_ms() + hours * 3600 * 1000
    assert after["expires_at"] != before["expires_at"]  # the TTL index's date follows
    assert await signed_in_as(browser) == "alice"


async def test_the_refusals(open_site, client, admin):
    me = await named(open_site, "admin")
    response = await make(admin, me, "user")
    assert response.code == 409 and "you cannot make your own account a user" in body(response)
    # A second admin may not demote the one the settings make at every start.
    second, _ = await user_with_token(client, "root")
    root = await named(open_site, "root")
    await make(admin, root, "admin")
    response = await make(second, me, "user")
    assert response.code == 409 and "ADMIN_PASSWORD" in body(response)
    json_answer = await second.request(
        "POST", f"/admin/users/{me.id}/role", form={"role": "user"},
        headers={"Accept": "application/json"},
    )  # fmt: skip
    assert json.loads(json_answer.body)["code"] == "account_from_settings"
    # With the settings' admin disabled (as by hand in the database), root is the last one:
    # no other admin could ask through the page, so the service is asked.
    await open_site.accounts.users.update(me.id, status="disabled")
    with pytest.raises(Refusal, match="last active admin") as refused:
        await open_site.accounts.set_role(await named(open_site, "root"), me, "user")
    assert refused.value.code == "last_admin" and refused.value.status == 409
    assert (await named(open_site, "root")).role == "admin"
    await open_site.accounts.users.update(me.id, status="active")
    bad = await make(admin, root, "owner")
    assert bad.code == 400 and "role is user or admin" in body(bad)
    missing = "/admin/users/" + "0" * 24 + "/role"
    assert (await admin.request("POST", missing, form={"role": "admin"})).code == 404
    assert (await named(open_site, "root")).role == "admin"


async def test_the_role_form_is_not_offered_where_it_would_be_refused(open_site, client, admin):
    second, _ = await user_with_token(client, "root")
    root = await named(open_site, "root")
    await make(admin, root, "admin")
    me = await named(open_site, "admin")
    page = body(await second.request("GET", "/admin/users"))
    for user in (me, root):  # the settings' admin, and root's own row
        row = page.split(f'id="user-{user.id}"')[1].split("</tr>")[0]
        assert "/role" not in row, user.username


async def test_the_quota_defaults_follow_the_role(open_site, client, admin):
    reconfigure(open_site, quota=Limits(bytes=0, images_per_day=2))
    _, token = await user_with_token(client)
    alice = await named(open_site, "alice")
    for _ in range(2):
        assert (await token_upload(client, token)).code == 201
    refused = await token_upload(client, token)
    assert refused.code == 403 and "quota_daily" in body(refused)
    await make(admin, alice, "admin")  # admins have no default limits
    assert (await token_upload(client, token)).code == 201
    await make(admin, alice, "user")  # a user again: the default holds again
    assert (await token_upload(client, token)).code == 403
    # An override applies to an admin as well.
    await admin.request(
        "POST", f"/admin/users/{alice.id}/quota", form={"quota_images_per_day": "5"}
    )
    await make(admin, alice, "admin")
    assert (await token_upload(client, token)).code == 201
    assert (await token_upload(client, token)).code == 201  # 5 of 5
    assert (await token_upload(client, token)).code == 403
    me = await client.request("GET", "/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert json.loads(me.body)["quota"]["images_per_day"] == 5


async def test_a_role_change_needs_the_xsrf_token(open_site, client, admin):
    await user_with_token(client)
    alice = await named(open_site, "alice")
    response = await make(admin, alice, "admin", xsrf=False)
    assert response.code == 403 and (await named(open_site, "alice")).role == "user"
    assert (await sign_in(await new_browser(client))).code == 303
