"""Personal API tokens: made on the account page (shown once, stored as a hash), Bearer on
/upload and /api/v1/*, revoked at once; GET /api/v1/me and the caller's own images; the
ShareX uploader that carries a token; the password change that ends the other sessions."""

import hashlib
import json
from datetime import UTC, datetime, timedelta

from imagehost.database import ImageRecord
from tests.admin import ADMIN_PASSWORD
from tests.web.accounts import (
    PASSWORD,
    bearer,
    sign_in,
    sign_up,
    signed_in_as,
    token_upload,
    user_with_token,
)
from tests.web.client import new_browser


async def test_the_account_page_needs_a_sign_in(open_site, visitor):
    response = await visitor.request("GET", "/account")
    assert response.code == 302 and response.headers["Location"] == "/signin?next=/account"
    response = await visitor.request("POST", "/account/tokens", form={"name": "x"})
    assert response.code == 401
    assert await open_site.accounts.tokens.collection.count_documents({}) == 0


async def test_a_token_is_shown_once_and_stored_as_a_hash(open_site, client):
    browser, token = await user_with_token(client)
    (stored,) = await open_site.accounts.tokens.collection.find({}).to_list()
    assert stored["_id"] == hashlib.sha256(token.encode()).hexdigest()
    assert token not in json.dumps(stored, default=str)
    page = (await browser.request("GET", "/account")).body.decode()
    assert "laptop" in page and token not in page and "never" in page


async def test_a_bearer_upload_is_the_owners_without_xsrf_and_notes_the_use(open_site, client):
    browser, token = await user_with_token(client)
    user = await open_site.accounts.users.by_name("alice")
    for path in ("/upload", "/api/v1/images"):
        response = await token_upload(client, token, path)
        assert response.code == 201, response.body
        record = await open_site.repo.get(json.loads(response.body)["name"])
        assert record.owner == user.owner
    # A browser's cookies beside a token change nothing: the token decides, no XSRF needed.
    stranger = await client.visit()
    response = await token_upload(client, token, headers={"Cookie": stranger.headers()["Cookie"]})
    assert response.code == 201
    assert (await open_site.repo.get(json.loads(response.body)["name"])).owner == user.owner
    (listed,) = await open_site.accounts.tokens.of_user(user.id)
    assert listed.last_used_at is not None
    gallery = (await browser.request("GET", "/")).body.decode()
    assert gallery.count('class="card"') == 3


async def test_a_bad_or_revoked_token_is_401_and_stores_nothing(open_site, client):
    browser, token = await user_with_token(client)
    for bad in ("ih_not-a-token", ""):
        response = await token_upload(client, bad)
        assert response.code == 401 and json.loads(response.body)["code"] == "bad_token"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    (listed,) = await open_site.accounts.tokens.of_user(
        (await open_site.accounts.users.by_name("alice")).id
    )
    revoked = await browser.request("POST", f"/account/tokens/{listed.id}/delete", htmx=True)
    assert revoked.code == 200 and "No tokens yet" in revoked.body.decode()
    response = await token_upload(client, token, "/api/v1/images")
    assert response.code == 401
    assert await open_site.repo.count() == 0
    assert not any(open_site.settings.images_dir.iterdir())


async def test_one_user_cannot_revoke_anothers_token(open_site, client):
    _, alices = await user_with_token(client)
    bob, _ = await user_with_token(client, "bob")
    alice = await open_site.accounts.users.by_name("alice")
    (token,) = await open_site.accounts.tokens.of_user(alice.id)
    await bob.request("POST", f"/account/tokens/{token.id}/delete", htmx=True)
    assert (await token_upload(client, alices)).code == 201


async def test_a_disabled_users_tokens_stop_at_once(open_site, client):
    _, token = await user_with_token(client)
    alice = await open_site.accounts.users.by_name("alice")
    await open_site.accounts.users.update(alice.id, status="disabled")
    assert (await token_upload(client, token)).code == 401
    assert (await client.request("GET", "/api/v1/me", headers=bearer(token))).code == 401


async def test_me_answers_for_a_token_or_a_session_and_401_otherwise(open_site, client):
    browser, token = await user_with_token(client, "Alice")
    response = await client.request("GET", "/api/v1/me", headers=bearer(token))
    me = json.loads(response.body)
    assert response.code == 200 and (me["username"], me["role"]) == ("Alice", "user")
    session = await browser.request("GET", "/api/v1/me")
    assert json.loads(session.body) == me
    anonymous = await client.request("GET", "/api/v1/me")
    assert anonymous.code == 401 and json.loads(anonymous.body)["code"] == "sign_in_required"


async def test_my_images_are_keyset_paged_and_only_mine(open_site, client):
    _, token = await user_with_token(client)
    _, bobs = await user_with_token(client, "bob")
    alice = await open_site.accounts.users.by_name("alice")
    base = datetime(2025, 3, 1, tzinfo=UTC)
    for i in range(25):
        await open_site.repo.insert(
            ImageRecord(
                name=f"MINE{i:012d}.png", original_name="", format="png", width=1, height=1,
                size=1, sha256="0" * 64, delete_token_hash="0" * 64, owner=alice.owner,
                created_at=base + timedelta(minutes=i // 2),
            )
        )  # fmt: skip
    names, before = [], ""
    while True:
        query = "limit=10" + (f"&before={before}" if before else "")
        page = json.loads(
            (await client.request("GET", f"/api/v1/me/images?{query}", headers=bearer(token))).body
        )
        names += [image["name"] for image in page["images"]]
        if page["next"] is None:
            break
        before = page["next"]
    assert names == [f"MINE{i:012d}.png" for i in range(24, -1, -1)]
    theirs = await client.request("GET", "/api/v1/me/images", headers=bearer(bobs))
    assert json.loads(theirs.body) == {"images": [], "next": None}
    for query in ("limit=0", "limit=101", "limit=x", "before=nonsense"):
        response = await client.request("GET", f"/api/v1/me/images?{query}", headers=bearer(token))
        assert response.code == 400, query


async def test_the_sharex_uploader_of_a_signed_in_user_carries_a_new_token(open_site, client):
    browser = await new_browser(client)
    await sign_up(browser)
    page = (await browser.request("GET", "/")).body.decode()
    assert 'href="/account#sharex"' in page
    account = (await browser.request("GET", "/account")).body.decode()
    assert "the file is now a secret" in account
    response = await browser.request("POST", "/account/imagehost.sxcu")
    assert response.code == 200 and response.headers["Cache-Control"] == "no-store"
    config = json.loads(response.body)
    token = config["Headers"]["Authorization"].removeprefix("Bearer ")
    assert (await token_upload(client, token, "/api/v1/images")).code == 201
    alice = await open_site.accounts.users.by_name("alice")
    (listed,) = await open_site.accounts.tokens.of_user(alice.id)
    assert listed.name == "ShareX"
    anonymous = json.loads((await client.request("GET", "/imagehost.sxcu")).body)
    assert "Authorization" not in anonymous["Headers"]


# -- the password ----------------------------------------------------------------------------
async def test_a_new_password_ends_the_other_sessions_but_not_this_one(open_site, client):
    browser, token = await user_with_token(client)
    other = await new_browser(client)
    await sign_in(other)
    assert await signed_in_as(other) == "alice"
    form = {"current": PASSWORD, "password": "the new password", "password2": "the new password"}
    response = await browser.request("POST", "/account/password", form=form)
    assert response.code == 200 and "other sign-ins ended (1)" in response.body.decode()
    assert await signed_in_as(browser) == "alice"
    assert await signed_in_as(other) == ""
    assert (await sign_in(await new_browser(client))).code == 401  # the old password
    assert (await sign_in(await new_browser(client), password="the new password")).code == 303
    assert (await token_upload(client, token)).code == 201  # tokens are revoked one by one


async def test_a_wrong_current_password_changes_nothing(open_site, client):
    open_site.accounts.failure_delay = 0
    browser, _ = await user_with_token(client)
    form = {"current": "not it at all", "password": "the new password",
            "password2": "the new password"}  # fmt: skip
    response = await browser.request("POST", "/account/password", form=form)
    assert response.code == 401 and "the current password is wrong" in response.body.decode()
    assert (await sign_in(await new_browser(client))).code == 303
    response = await browser.request(
        "POST", "/account/password", xsrf=False, form={**form, "current": PASSWORD}
    )
    assert response.code == 403  # XSRF
    assert (await sign_in(await new_browser(client))).code == 303


async def test_the_admin_from_the_settings_changes_the_password_there(admin):
    page = (await admin.request("GET", "/account")).body.decode()
    assert 'action="/account/password"' not in page and "ADMIN_PASSWORD" in page
    form = {"current": ADMIN_PASSWORD, "password": "another one!", "password2": "another one!"}
    response = await admin.request("POST", "/account/password", form=form)
    assert response.code == 403 and (await admin.request("GET", "/admin")).code == 200


async def test_another_users_token_neither_lists_nor_deletes_my_images(open_site, client):
    _, alices = await user_with_token(client)
    _, bobs = await user_with_token(client, "bob")
    name = json.loads((await token_upload(client, alices)).body)["name"]
    listed = await client.request("GET", "/api/v1/me/images", headers=bearer(bobs))
    assert json.loads(listed.body)["images"] == []
    for extra in ({}, {"X-Delete-Token": "A" * 32}):
        response = await client.request(
            "DELETE", f"/api/v1/images/{name}", headers={**bearer(bobs), **extra}
        )
        assert response.code in (400, 403), response.code
    assert await open_site.repo.get(name) is not None
    mine = await client.request("GET", "/api/v1/me/images", headers=bearer(alices))
    assert [image["name"] for image in json.loads(mine.body)["images"]] == [name]
