"""The admin's users page and what the admin does to an account: disable and enable (at once,
for sessions and tokens), a one-time password-reset link, delete keeping or deleting the
account's images; and the refusals (themself, the admin from the settings, a plain user)."""

import json
import re

import pytest

from imagehost.accounts.onetime import secret_hash
from imagehost.accounts.service import SEEN_EVERY_MS, Accounts
from imagehost.accounts.sessions import SESSION_COOKIE
from imagehost.accounts.users import NOBODY, now_ms
from tests import images
from tests.albums import make_album
from tests.web.accounts import (
    PASSWORD,
    bearer,
    body,
    reconfigure,
    sign_in,
    sign_up,
    signed_in_as,
    token_upload,
    user_with_token,
)
from tests.web.client import new_browser

RESET_LINK = re.compile(r'id="reset-link"[^>]* value="[^"]*/reset/([A-Za-z0-9_-]+)"')
NEW_PASSWORD = "a brand new password"


async def alice(ctx):
    return await ctx.accounts.users.by_name("alice")


async def act(admin, user, action: str, **form):
    return await admin.request("POST", f"/admin/users/{user.id}/{action}", form=form)


# -- the table -----------------------------------------------------------------------------
async def test_the_users_table_lists_every_account_linked_from_the_panel(open_site, client, admin):
    await user_with_token(client)
    await user_with_token(client, "bob")
    panel = body(await admin.request("GET", "/admin"))
    assert 'href="/admin/users"' in panel
    response = await admin.request("GET", "/admin/users")
    page = body(response)
    assert response.code == 200 and response.headers["Cache-Control"] == "no-store"
    rows = re.findall(r'<tr id="user-([0-9a-f]{24})"', page)
    names = [(await open_site.accounts.users.get(i)).username for i in rows]
    assert names == ["admin", "alice", "bob"]
    bob = await open_site.accounts.users.by_name("bob")
    row = page.split(f'id="user-{bob.id}"')[1].split("</tr>")[0]
    assert ">user<" in row and ">active<" in row and "/disable" in row and "/delete" in row
    # The admin's own row (from the settings) offers no action that would be refused.
    me = page.split('id="user-')[1].split("</tr>")[0]
    assert "(you)" in me and "/disable" not in me and "/delete" not in me and "/reset" not in me


async def test_the_table_counts_each_accounts_images_and_bytes(open_site, client, admin):
    _, token = await user_with_token(client)
    for _ in range(3):
        assert (await token_upload(client, token)).code == 201
    await user_with_token(client, "bob")
    sizes = [r.size for r in await open_site.repo.list_page(owner=(await alice(open_site)).owner)]
    page = body(await admin.request("GET", "/admin/users"))

    def cells(name):
        user_id = re.search(rf'<tr id="user-([0-9a-f]{{24}})"[^>]*>\s*<td>{name}', page).group(1)
        row = page.split(f'id="user-{user_id}"')[1].split("</tr>")[0]
        return re.findall(r'<td class="number" title="([^"]+)">([^<]+)</td>', row)

    assert cells("alice") == [("3 images", "3"), (f"{sum(sizes)} bytes", f"{sum(sizes)} B")]
    assert cells("bob") == [("0 images", "0"), ("0 bytes", "0 B")]
    russian = await admin.request(
        "GET", "/admin/users", headers={"Cookie": admin.headers()["Cookie"] + "; lang=ru"}
    )
    assert "Пользователи" in body(russian) and "3 изображения" in body(russian)


async def test_a_plain_user_can_neither_see_nor_use_the_users_page(open_site, client, admin):
    browser, _ = await user_with_token(client)
    bob_browser, bob_token = await user_with_token(client, "bob")
    bob = await open_site.accounts.users.by_name("bob")
    assert (await browser.request("GET", "/admin/users")).code == 403
    for action in ("disable", "reset", "delete"):
        response = await act(browser, bob, action, images="delete")
        assert response.code == 403 and "only an admin" in body(response), action
    # Bob's own token, without a session: the admin area takes no tokens (nor their XSRF pass).
    assert (await token_upload(client, bob_token)).code == 201
    for action in ("disable", "delete"):
        response = await client.request(
            "POST", f"/admin/users/{bob.id}/{action}", body="images=delete",
            headers={**bearer(bob_token), "Accept": "application/json"},
        )  # fmt: skip
        assert response.code in (401, 403), action
    assert (await open_site.accounts.users.get(bob.id)).active
    assert await open_site.repo.count() == 1 and await signed_in_as(bob_browser) == "bob"


# -- disable and enable --------------------------------------------------------------------
async def test_disabling_stops_the_session_and_token_at_once_and_enabling_restores_the_token(
    open_site, client, admin
):
    browser, token = await user_with_token(client)
    user = await alice(open_site)
    assert (await token_upload(client, token)).code == 201
    response = await act(admin, user, "disable")
    assert response.code == 200 and "alice is disabled" in body(response)
    assert (await alice(open_site)).status == "disabled"
    assert await signed_in_as(browser) == ""
    assert (await browser.request("GET", "/account")).code == 302  # to the sign-in
    assert (await token_upload(client, token)).code == 401
    me = await client.request("GET", "/api/v1/me", headers=bearer(token))
    assert me.code == 401 and json.loads(me.body)["code"] == "bad_token"
    assert (await sign_in(await new_browser(client))).code == 403
    assert await open_site.accounts.sessions.collection.count_documents({"user_id": user.id}) == 0
    page = body(await admin.request("GET", "/admin/users"))
    assert f'action="/admin/users/{user.id}/enable"' in page
    response = await act(admin, user, "enable")
    assert response.code == 200 and "alice is enabled again" in body(response)
    assert (await token_upload(client, token)).code == 201
    assert (await sign_in(browser)).code == 303 and await signed_in_as(browser) == "alice"


async def test_a_disable_holds_at_once_in_another_replica(open_site, client, admin):
    # Another process's Accounts on the same database: it asks MongoDB on every request.
    browser, token = await user_with_token(client)
    other = Accounts(open_site.settings, open_site.repo.client)
    raw = browser.cookies[SESSION_COOKIE]
    assert (await other.user_for_session(raw)).username == "alice"
    user = await other.user_for_token(token)
    await act(admin, user, "disable")
    assert await other.user_for_session(raw) is None and await other.user_for_token(token) is None


async def test_the_admin_cannot_disable_or_delete_themself_or_the_settings_admin(
    open_site, client, admin, log_lines
):
    me = await open_site.accounts.users.by_name("admin")
    for action, form in (("disable", {}), ("delete", {"images": "delete"})):
        response = await act(admin, me, action, **form)
        assert response.code == 409, action
        assert "you cannot disable or delete your own account" in body(response)
    assert (await open_site.accounts.users.get(me.id)).active
    # A second admin may not remove the one the settings make again at every start.
    await user_with_token(client, "root")
    root = await open_site.accounts.users.by_name("root")
    await open_site.accounts.users.update(root.id, role="admin")
    second = await new_browser(client)
    assert (await sign_in(second, "root")).code == 303
    response = await act(second, me, "disable")
    assert response.code == 409 and "ADMIN_PASSWORD" in body(response)
    response = await act(second, me, "reset")
    assert response.code == 403 and "ADMIN_PASSWORD" in body(response)
    assert await signed_in_as(admin) == "admin"


async def test_the_last_active_admin_is_not_removed(open_site, client):
    await user_with_token(client, "root")
    accounts = open_site.accounts
    root = await accounts.users.by_name("root")
    await accounts.users.update(root.id, role="admin")
    settings_admin = await accounts.users.by_name("admin")
    # Only when the settings' admin is disabled (as by hand in the database) is root the last.
    await accounts.users.update(settings_admin.id, status="disabled")
    with pytest.raises(Exception, match="last active admin") as refused:
        await accounts.delete_user(await accounts.users.get(root.id), settings_admin,
                                   keep_images=True)  # fmt: skip
    assert refused.value.code == "last_admin"
    assert (await accounts.users.get(root.id)).active


async def test_an_unknown_user_or_a_bad_choice_is_refused(open_site, client, admin):
    missing = await admin.request("POST", "/admin/users/" + "0" * 24 + "/disable")
    assert missing.code == 404 and "no such user" in body(missing)
    await user_with_token(client)
    response = await act(admin, await alice(open_site), "delete", images="maybe")
    assert response.code == 400 and await alice(open_site) is not None


# -- password-reset links ------------------------------------------------------------------
async def test_a_reset_link_is_shown_once_works_once_and_ends_every_session(
    open_site, client, admin
):
    browser, token = await user_with_token(client)
    other = await new_browser(client)
    assert (await sign_in(other)).code == 303
    user = await alice(open_site)
    response = await act(admin, user, "reset")
    assert response.code == 200
    raw = RESET_LINK.search(body(response)).group(1)
    (stored,) = await open_site.accounts.resets.collection.find({}).to_list()
    assert stored["_id"] == secret_hash(raw) and raw not in json.dumps(stored, default=str)
    assert raw not in body(await admin.request("GET", "/admin/users"))  # shown only then
    assert await signed_in_as(browser) == "alice"  # nothing ends until the link is used
    stranger = await new_browser(client)
    page = await stranger.request("GET", f"/reset/{raw}")
    assert page.code == 200 and "alice" in body(page)
    assert page.headers["Referrer-Policy"] == "no-referrer"
    form = {"password": NEW_PASSWORD, "password2": NEW_PASSWORD}
    response = await stranger.request("POST", f"/reset/{raw}", form=form)
    assert response.code == 303 and await signed_in_as(stranger) == "alice"
    assert await signed_in_as(browser) == "" and await signed_in_as(other) == ""
    assert (await sign_in(await new_browser(client))).code == 401  # the old password
    assert (await sign_in(await new_browser(client), password=NEW_PASSWORD)).code == 303
    assert (await token_upload(client, token)).code == 201  # tokens are revoked one by one
    again = await new_browser(client)
    for method in ("GET", "POST"):
        used = await again.request(method, f"/reset/{raw}", form=form if method == "POST" else None)
        assert used.code == 403 and "password-reset link is not valid" in body(used), method
    assert await signed_in_as(again) == ""


async def test_a_reset_link_expires_and_a_new_one_replaces_the_old(open_site, client, admin):
    await user_with_token(client)
    user = await alice(open_site)
    first = RESET_LINK.search(body(await act(admin, user, "reset"))).group(1)
    second = RESET_LINK.search(body(await act(admin, user, "reset"))).group(1)
    stranger = await new_browser(client)
    assert (await stranger.request("GET", f"/reset/{first}")).code == 403
    assert (await stranger.request("GET", f"/reset/{second}")).code == 200
    await open_site.accounts.resets.collection.update_one(
        {"_id": secret_hash(second)}, {"$set": {"expires_ms": now_ms() - 1}}
    )
    form = {"password": NEW_PASSWORD, "password2": NEW_PASSWORD}
    response = await stranger.request("POST", f"/reset/{second}", form=form)
    assert response.code == 403 and await signed_in_as(stranger) == ""
    assert (await sign_in(await new_browser(client))).code == 303  # the password is unchanged


async def test_a_bad_new_password_keeps_the_link(open_site, client, admin):
    await user_with_token(client)
    raw = RESET_LINK.search(body(await act(admin, await alice(open_site), "reset"))).group(1)
    stranger = await new_browser(client)
    for form in ({"password": "short", "password2": "short"},
                 {"password": NEW_PASSWORD, "password2": "something else"}):  # fmt: skip
        response = await stranger.request("POST", f"/reset/{raw}", form=form)
        assert response.code == 400 and 'role="alert"' in body(response)
    assert (await stranger.request("GET", f"/reset/{raw}")).code == 200


async def test_a_disabled_account_cannot_use_its_reset_link(open_site, client, admin):
    await user_with_token(client)
    user = await alice(open_site)
    raw = RESET_LINK.search(body(await act(admin, user, "reset"))).group(1)
    await act(admin, user, "disable")
    stranger = await new_browser(client)
    form = {"password": NEW_PASSWORD, "password2": NEW_PASSWORD}
    response = await stranger.request("POST", f"/reset/{raw}", form=form)
    assert response.code == 403 and "disabled" in body(response)
    assert await signed_in_as(stranger) == ""


# -- deleting an account -------------------------------------------------------------------
async def owned_things(ctx, owner: str) -> tuple[int, int, int]:
    db = ctx.repo.client[ctx.settings.mongodb_db]
    albums = await db.albums.find({"owner": owner}).to_list()
    members = await db.album_images.count_documents(
        {"album": {"$in": [a["album_id"] for a in albums]}}
    )
    return await db.images.count_documents({"owner": owner}), len(albums), members


async def alice_with_things(ctx, client):
    """alice with two uploads (one in a private album) and a token; bob with one upload."""
    browser, token = await user_with_token(client)
    album = await make_album(browser, "Private", visibility="private")
    await browser.upload(images.png(), "one.png")
    upload = await token_upload(client, token)
    name = json.loads(upload.body)["name"]
    await ctx.albums.albums.append(album, [name])
    bob, _ = await user_with_token(client, "bob")
    await bob.upload(images.png(), "bobs.png")
    user = await alice(ctx)
    assert await owned_things(ctx, user.owner) == (2, 1, 1)
    return browser, token, user


def stored_files(ctx) -> set[str]:
    return {p.name for p in ctx.settings.images_dir.iterdir()}


async def test_deleting_with_the_images_leaves_no_file_or_record(open_site, client, admin):
    browser, token, user = await alice_with_things(open_site, client)
    bob = await open_site.accounts.users.by_name("bob")
    bobs = {n for r in await open_site.repo.list_page(owner=bob.owner) for n in r.files}
    confirm = await admin.request("GET", f"/admin/users/{user.id}/delete")
    stored = re.search(r'<p id="stored">([^<]+)</p>', body(confirm)).group(1)
    assert stored == "alice stores 2 images (280 B); albums: 1."
    assert (
        confirm.code == 200
        and 'value="keep"' in body(confirm)
        and 'value="delete"' in body(confirm)
    )
    response = await act(admin, user, "delete", images="delete")
    assert response.code == 200 and "alice is deleted, with their 2 images" in body(response)
    assert await open_site.accounts.users.get(user.id) is None
    assert await owned_things(open_site, user.owner) == (0, 0, 0)
    db = open_site.repo.client[open_site.settings.mongodb_db]
    assert await db.album_images.count_documents({}) == 0
    assert await open_site.repo.count() == 1 and stored_files(open_site) == bobs
    for collection in ("sessions", "api_tokens", "password_resets"):
        assert await db[collection].count_documents({"user_id": user.id}) == 0, collection
    assert await signed_in_as(browser) == "" and (await token_upload(client, token)).code == 401
    assert 'id="user-' + user.id not in body(await admin.request("GET", "/admin/users"))
    # The name is free again: a new alice is a new account with nothing in it.
    assert (await sign_up(await new_browser(client))).code == 303
    assert (await alice(open_site)).id != user.id


async def test_deleting_and_keeping_the_images_leaves_them_to_nobody(open_site, client, admin):
    browser, token, user = await alice_with_things(open_site, client)
    files = stored_files(open_site)
    records = await open_site.repo.list_page(owner=user.owner)
    share = (await open_site.albums.albums.of_owner(user.owner))[0].share_id
    response = await act(admin, user, "delete", images="keep")
    assert response.code == 200
    assert "their 2 images were kept and now belong to nobody" in body(response)
    assert await open_site.accounts.users.get(user.id) is None
    assert await owned_things(open_site, user.owner) == (0, 0, 0)
    assert await owned_things(open_site, NOBODY) == (2, 1, 1)
    assert stored_files(open_site) == files and await open_site.repo.count() == 3
    for record in records:  # still at its page, and deleted by the admin as any other
        assert (await client.request("GET", f"/v/{record.stem}")).code == 200
    # The private album is no one's to see now, least of all a visitor without a cookie.
    assert (await client.request("GET", f"/a/{share}")).code == 404
    assert await signed_in_as(browser) == "" and (await token_upload(client, token)).code == 401
    # A new account of the same name gets none of it.
    newcomer = await new_browser(client)
    assert (await sign_up(newcomer)).code == 303
    assert body(await newcomer.request("GET", "/")).count('class="card"') == 0


async def test_a_delete_needs_the_xsrf_token(open_site, client, admin):
    _, _, user = await alice_with_things(open_site, client)
    response = await admin.request(
        "POST", f"/admin/users/{user.id}/delete", xsrf=False, form={"images": "delete"}
    )
    assert response.code == 403 and await open_site.accounts.users.get(user.id) is not None
    assert await owned_things(open_site, user.owner) == (2, 1, 1)


# -- last seen -----------------------------------------------------------------------------
async def test_last_seen_is_kept_by_sessions_and_tokens_at_most_once_a_minute(open_site, client):
    browser, token = await user_with_token(client)
    users = open_site.accounts.users
    user = await alice(open_site)
    assert now_ms() - user.last_seen_ms < SEEN_EVERY_MS
    recent = now_ms() - SEEN_EVERY_MS // 2
    await users.update(user.id, last_seen_ms=recent)
    await browser.request("GET", "/")
    await token_upload(client, token)
    assert (await alice(open_site)).last_seen_ms == recent  # not written again so soon
    for use in (lambda: browser.request("GET", "/"), lambda: token_upload(client, token)):
        old = now_ms() - 2 * SEEN_EVERY_MS
        await users.update(user.id, last_seen_ms=old)
        before = now_ms()
        await use()
        assert (await alice(open_site)).last_seen_ms >= before
    # Processes that read the same stale account at once write it once: the filter decides.
    seen = now_ms() + SEEN_EVERY_MS
    await users.seen(user.id, seen, SEEN_EVERY_MS)
    await users.seen(user.id, seen + 1000, SEEN_EVERY_MS)
    assert (await alice(open_site)).last_seen_ms == seen


async def test_the_users_table_says_when_each_account_was_last_seen(open_site, client, admin):
    browser = await new_browser(client)
    await sign_up(browser, "carol")
    carol = await open_site.accounts.users.by_name("carol")
    await open_site.accounts.users.update(carol.id, last_seen_ms=0)
    page = body(await admin.request("GET", "/admin/users"))
    row = page.split(f'id="user-{carol.id}"')[1].split("</tr>")[0]
    assert ">never<" in row
    await browser.request("GET", "/")
    page = body(await admin.request("GET", "/admin/users"))
    row = page.split(f'id="user-{carol.id}"')[1].split("</tr>")[0]
    assert "<time datetime=" in row and ">never<" not in row
    assert PASSWORD not in page


# -- the image list by owner ---------------------------------------------------------------
def listed(page: str) -> set[str]:
    return set(re.findall(r'href="/images/([A-Za-z0-9_-]+\.png)"', page))


async def test_the_image_list_is_filtered_by_owner_from_the_users_table(open_site, client, admin):
    browser, token = await user_with_token(client)
    alices = {json.loads((await token_upload(client, token)).body)["name"] for _ in range(2)}
    bob, _ = await user_with_token(client, "bob")
    bobs = (await client.uploaded(images.png(), "b.png", headers=bob.headers()))["name"]
    nobodys = (await client.uploaded(images.png(), "tool.png"))["name"]
    anonymous = await new_browser(client)
    anons = (await client.uploaded(images.png(), "a.png", headers=anonymous.headers()))["name"]
    user = await alice(open_site)
    table = body(await admin.request("GET", "/admin/users"))
    link = f'href="/admin?owner=user%3A{user.id}"'
    assert link in table and 'href="/admin?owner=nobody"' in table
    page = body(await admin.request("GET", f"/admin?owner=user:{user.id}"))
    assert listed(page) == alices and re.search(r"images of:\s*<strong>\s*alice\s*</strong>", page)
    assert 'type="hidden" name="owner"' in page  # the search keeps the filter
    rows = body(await admin.request("GET", f"/admin/images?owner=user:{user.id}&q=tool", htmx=True))
    assert listed(rows) == alices
    assert listed(body(await admin.request("GET", "/admin?owner=nobody"))) == {nobodys}
    # Each row names its owner, linked to that owner's list: a browser's too.
    every = body(await admin.request("GET", "/admin"))
    assert listed(every) == alices | {bobs, nobodys, anons}
    assert link in every and ">bob</a>" in every and ">nobody</a>" in every
    key = (await open_site.repo.get(anons)).owner
    assert listed(body(await admin.request("GET", f"/admin?owner={key}"))) == {anons}
    assert "anonymous browser" in every
    bad = await admin.request("GET", "/admin?owner=user:../x")
    assert bad.code == 400


async def test_the_image_list_pages_within_one_owner(open_site, client, admin):
    anonymous = await new_browser(client)
    others = set()
    for _ in range(2):  # older than alice's: an unfiltered next page would show them
        others.add(
            (await client.uploaded(images.png(), "x.png", headers=anonymous.headers()))["name"]
        )
    _, token = await user_with_token(client)
    user = await alice(open_site)
    for _ in range(3):
        assert (await token_upload(client, token)).code == 201
    from imagehost.web.handlers import admin as admin_handlers

    size, admin_handlers.PAGE_SIZE = admin_handlers.PAGE_SIZE, 2
    try:
        page = body(await admin.request("GET", f"/admin?owner=user:{user.id}"))
        more = re.search(r'hx-get="(/admin/images\?[^"]+)"', page).group(1).replace("&amp;", "&")
        assert f"owner=user%3A{user.id}" in more
        rest = body(await admin.request("GET", more, htmx=True))
    finally:
        admin_handlers.PAGE_SIZE = size
    shown = listed(page) | listed(rest)
    assert len(shown) == 3 and not shown & others


# -- the admin makes an account --------------------------------------------------------------
async def test_the_admin_makes_an_account_whose_link_sets_its_first_password(ctx, client, admin):
    reconfigure(ctx, registration="closed")  # the only way in then
    response = await admin.request("POST", "/admin/users", form={"username": "Dora"})
    assert response.code == 200 and "The account Dora is made" in body(response)
    raw = RESET_LINK.search(body(response)).group(1)
    dora = await ctx.accounts.users.by_name("dora")
    assert dora.role == "user" and dora.active and f'id="user-{dora.id}"' in body(response)
    ctx.accounts.failure_delay = 0
    for password in ("", PASSWORD):  # no password signs in before the link sets one
        assert (await sign_in(await new_browser(client), "Dora", password)).code == 401
    person = await new_browser(client)
    form = {"password": NEW_PASSWORD, "password2": NEW_PASSWORD}
    assert (await person.request("POST", f"/reset/{raw}", form=form)).code == 303
    assert await signed_in_as(person) == "Dora"
    assert (await sign_in(await new_browser(client), "dora", NEW_PASSWORD)).code == 303


async def test_a_bad_or_taken_name_makes_no_account(open_site, client, admin):
    await user_with_token(client)
    before = await open_site.accounts.users.collection.count_documents({})
    for name, code in (("ALICE", 409), ("-x", 400), ("", 400), ("a" * 33, 400)):
        response = await admin.request("POST", "/admin/users", form={"username": name})
        assert response.code == code, name
    assert await open_site.accounts.users.collection.count_documents({}) == before
    assert await open_site.accounts.resets.collection.count_documents({}) == 0
    browser, _ = await user_with_token(client, "bob")
    response = await browser.request("POST", "/admin/users", form={"username": "eve"})
    assert response.code == 403 and await open_site.accounts.users.by_name("eve") is None
