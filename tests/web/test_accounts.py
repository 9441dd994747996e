"""Accounts: sign-up by each REGISTRATION mode, sign-in and sign-out, server-side sessions,
disabled accounts, no enumeration, and anonymous uploads moving into the account."""

import dataclasses
import hashlib
import json
import re

import pytest

from imagehost.accounts.service import Accounts
from imagehost.accounts.sessions import SESSION_COOKIE
from imagehost.settings import SettingsError
from tests import images
from tests.admin import ADMIN_PASSWORD
from tests.albums import make_album
from tests.web.accounts import (
    PASSWORD,
    body,
    reconfigure,
    sign_in,
    sign_up,
    signed_in_as,
)
from tests.web.client import new_browser


# -- sign-up -------------------------------------------------------------------------------
async def test_open_sign_up_makes_an_account_and_signs_in(open_site, visitor):
    response = await sign_up(visitor, "Alice")
    assert response.code == 303 and response.headers["Location"] == "/"
    assert await signed_in_as(visitor) == "Alice"
    user = await open_site.accounts.users.by_name("alice")
    assert user.username == "Alice" and user.role == "user" and user.active
    assert user.password_hash.startswith("$argon2id$") and PASSWORD not in user.password_hash


async def test_usernames_are_unique_ignoring_case(open_site, client, visitor):
    assert (await sign_up(visitor, "Alice")).code == 303
    other = await new_browser(client)
    response = await sign_up(other, "aLICE", "another password")
    assert response.code == 409 and "that username is taken" in body(response)
    assert SESSION_COOKIE not in other.cookies
    assert await open_site.accounts.users.collection.count_documents({}) == 2  # with the admin


@pytest.mark.parametrize(
    ("username", "password", "code"),
    [("", PASSWORD, 400), ("-dash", PASSWORD, 400), ("a" * 33, PASSWORD, 400),
     ("bad name", PASSWORD, 400), ("bob", "short", 400), ("bob", "x" * 1025, 400)],
)  # fmt: skip
async def test_bad_names_and_passwords_are_refused_on_the_form(
    open_site, visitor, username, password, code
):
    response = await sign_up(visitor, username, password)
    assert response.code == code and 'role="alert"' in body(response)
    assert 'name="username"' in body(response)  # the form again, to correct
    assert await open_site.accounts.users.collection.count_documents({}) == 1


async def test_the_two_passwords_must_match(open_site, visitor):
    response = await visitor.request(
        "POST", "/signup", form={"username": "bob", "password": PASSWORD, "password2": "other!!!!"}
    )
    assert response.code == 400 and "the two passwords differ" in body(response)
    assert await open_site.accounts.users.by_name("bob") is None


async def test_closed_registration_takes_no_sign_up(ctx, visitor):
    reconfigure(ctx, registration="closed")
    page = await visitor.request("GET", "/signup")
    assert "does not take sign-ups" in body(page) and 'name="password"' not in body(page)
    response = await sign_up(visitor)
    assert response.code == 403 and await ctx.accounts.users.by_name("alice") is None


async def test_invite_sign_up_works_once_through_the_admins_link(ctx, client, admin):
    # REGISTRATION=invite is the default.
    stranger = await new_browser(client)
    assert (await sign_up(stranger)).code == 403
    made = await admin.request("POST", "/admin/invites", htmx=True)
    link = re.search(r'id="invite-link"[^>]* value="([^"]+)"', body(made)).group(1)
    token = link.rsplit("/", 1)[1]
    assert link == f"{client.base}/invite/{token}"
    stored = await ctx.accounts.invites.collection.find_one({})
    assert stored["_id"] == hashlib.sha256(token.encode()).hexdigest()
    assert token not in json.dumps(stored, default=str)
    page = await stranger.request("GET", f"/invite/{token}")
    assert page.code == 200 and f'name="invite" value="{token}"' in body(page)
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert (await sign_up(stranger, invite=token)).code == 303
    assert await signed_in_as(stranger) == "alice"
    # Used up: the link and the form refuse a second sign-up.
    third = await new_browser(client)
    assert (await third.request("GET", f"/invite/{token}")).code == 403
    response = await sign_up(third, "carol", invite=token)
    assert response.code == 403 and await ctx.accounts.users.by_name("carol") is None


async def test_an_expired_or_withdrawn_invite_signs_nobody_up(ctx, client, admin):
    expired = await ctx.accounts.invites.create("admin", -1)
    browser = await new_browser(client)
    assert (await sign_up(browser, invite=expired)).code == 403
    token = await ctx.accounts.invites.create("admin", 3600)
    (pending,) = await ctx.accounts.invites.pending()
    listed = await admin.request("GET", "/admin")
    assert f"/admin/invites/{pending.id}/delete" in body(listed)
    response = await admin.request("POST", f"/admin/invites/{pending.id}/delete", htmx=True)
    assert response.code == 200 and "No open invites" in body(response)
    assert (await sign_up(browser, invite=token)).code == 403
    assert await ctx.accounts.users.by_name("alice") is None


async def test_a_taken_name_does_not_use_up_the_invite(ctx, client):
    reconfigure(ctx, registration="invite")
    token = await ctx.accounts.invites.create("admin", 3600)
    browser = await new_browser(client)
    assert (await sign_up(browser, "ADMIN", invite=token)).code == 409
    assert (await sign_up(browser, "dora", invite=token)).code == 303


# -- signing in and out --------------------------------------------------------------------
async def test_the_session_cookie_is_httponly_lax_and_the_database_keeps_only_its_hash(
    open_site, visitor
):
    response = await sign_up(visitor)
    header = next(
        h for h in response.headers.get_list("Set-Cookie") if h.startswith(SESSION_COOKIE)
    )
    lowered = header.lower()
    assert "httponly" in lowered and "samesite=lax" in lowered and "secure" not in lowered
    raw = visitor.cookies[SESSION_COOKIE]
    (stored,) = await open_site.accounts.sessions.collection.find({}).to_list()
    assert stored["_id"] == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in json.dumps(stored, default=str)
    indexes = await open_site.accounts.sessions.collection.index_information()
    # nx-27017 names indexes its own way: found by key.
    (ttl,) = [i for i in indexes.values() if i["key"] == [("expires_at", 1)]]
    assert ttl["expireAfterSeconds"] == 0


async def test_with_an_https_public_url_the_cookie_is_secure(open_site, visitor):
    reconfigure(open_site, public_url="https://img.example.org")
    response = await sign_up(visitor)
    header = next(
        h for h in response.headers.get_list("Set-Cookie") if h.startswith(SESSION_COOKIE)
    )
    assert "secure" in header.lower()


async def test_sign_in_from_a_second_browser_and_sign_out_ends_only_that_session(
    open_site, client, visitor
):
    await sign_up(visitor)
    second = await new_browser(client)
    response = await sign_in(second, "ALICE")  # the name in any case
    assert response.code == 303 and await signed_in_as(second) == "alice"
    replayed = second.cookies[SESSION_COOKIE]
    response = await second.request("POST", "/signout")
    assert response.code == 303 and SESSION_COOKIE not in second.cookies
    second.cookies[SESSION_COOKIE] = replayed  # a copy of the old cookie is worth nothing
    assert await signed_in_as(second) == ""
    assert await signed_in_as(visitor) == "alice"


async def test_signing_in_and_out_needs_the_xsrf_token(open_site, visitor):
    await sign_up(visitor)
    response = await visitor.request("POST", "/signout", xsrf=False)
    assert response.code == 403 and await signed_in_as(visitor) == "alice"
    other = await new_browser(visitor.client)
    response = await other.request(
        "POST", "/signin", xsrf=False, form={"username": "alice", "password": PASSWORD}
    )
    assert response.code == 403 and SESSION_COOKIE not in other.cookies
    response = await other.request(
        "POST", "/signup", xsrf=False, form={"username": "bob", "password": PASSWORD}
    )
    assert response.code == 403 and await open_site.accounts.users.by_name("bob") is None


async def test_a_disabled_account_is_signed_out_at_once_and_cannot_sign_in(open_site, visitor):
    await sign_up(visitor)
    user = await open_site.accounts.users.by_name("alice")
    await open_site.accounts.users.update(user.id, status="disabled")
    assert await signed_in_as(visitor) == ""
    again = await new_browser(visitor.client)
    response = await sign_in(again)
    assert response.code == 403 and "disabled" in body(response)
    assert SESSION_COOKIE not in again.cookies


async def test_unknown_names_get_the_answer_a_wrong_password_gets_after_a_hash_check(
    open_site, client, visitor
):
    await sign_up(visitor)
    passwords = open_site.accounts.passwords
    runs = []
    run = passwords._run

    async def counted(function, *args):
        runs.append(function.__name__)
        return await run(function, *args)

    passwords._run = counted
    open_site.accounts.failure_delay = 0
    answers = []
    for name in ("alice", "nobody"):
        browser = await new_browser(client)
        response = await sign_in(browser, name, "wrong password")
        page = re.sub(r"2\|[0-9a-f]+\|[0-9a-f]+\|[0-9]+", "", body(response))
        answers.append((response.code, page.replace(f'value="{name}"', "")))
    assert answers[0] == answers[1] and answers[0][0] == 401
    assert "Wrong username or password." in answers[0][1]
    assert runs == ["verify_password", "verify_password"]  # the unknown name was hashed too


async def test_failures_of_one_name_slow_it_down_from_any_address(open_site, visitor, log_lines):
    await sign_up(visitor)
    accounts = open_site.accounts
    accounts.failure_delay = 0
    for address in ("192.0.2.1", "192.0.2.2", "192.0.2.3"):
        with pytest.raises(Exception, match="Wrong username"):
            await accounts.sign_in("Alice", "guess " + address, address)
    assert await accounts.failures.add("name:alice") == 4
    failed = [line for line in log_lines if "sign-in failed" in line]
    assert "failures=3" in failed[-1] and "user='Alice'" in failed[-1]
    assert not any("guess" in line for line in log_lines)


# -- the admin account from the settings ---------------------------------------------------
async def test_the_admin_account_comes_from_the_settings_and_is_kept_in_step(ctx):
    admin = await ctx.accounts.users.by_name("admin")
    assert admin.is_admin and admin.from_settings
    await ctx.accounts.users.update(admin.id, status="disabled", role="user")
    await ctx.accounts.sync_admin()  # the next start puts it right
    admin = await ctx.accounts.users.by_name("admin")
    assert admin.is_admin and admin.active
    assert await ctx.accounts.sign_in("admin", ADMIN_PASSWORD, "192.0.2.9")


async def test_admin_username_may_not_take_over_someone_elses_account(open_site, visitor):
    await sign_up(visitor, "mallory")
    settings = dataclasses.replace(open_site.settings, admin_username="Mallory")
    with pytest.raises(SettingsError, match="ADMIN_USERNAME"):
        await Accounts(settings, open_site.repo.client).sync_admin()
    assert not (await open_site.accounts.users.by_name("mallory")).is_admin


async def test_an_ordinary_user_may_not_open_the_admin_area(open_site, visitor):
    await sign_up(visitor)
    response = await visitor.request("GET", "/admin")
    assert response.code == 403 and "only an admin" in body(response)


# -- ownership -----------------------------------------------------------------------------
async def test_signing_up_moves_this_browsers_uploads_into_the_account_and_says_so(
    open_site, client, visitor
):
    for name in ("one.png", "two.png"):
        assert (await visitor.upload(images.png(), name)).code == 201
    stranger = await new_browser(client)
    assert (await stranger.upload(images.png(), "theirs.png")).code == 201
    await sign_up(visitor)
    user = await open_site.accounts.users.by_name("alice")
    owned = await open_site.repo.list_page(owner=user.owner)
    assert sorted(r.original_name for r in owned) == ["one.png", "two.png"]
    page = body(await visitor.request("GET", "/"))
    assert "2 images from this browser moved into your account." in page
    assert "one.png" in page and "theirs.png" not in page
    assert "moved into your account" not in body(await visitor.request("GET", "/"))
    # A second browser signed in to the account sees the same gallery; uploads from there
    # are the account's too.
    second = await new_browser(client)
    await sign_in(second)
    assert (await second.upload(images.png(), "three.png")).code == 201
    for browser in (visitor, second):
        page = body(await browser.request("GET", "/"))
        assert all(name in page for name in ("one.png", "two.png", "three.png"))
    assert len(await open_site.repo.list_page(owner=user.owner)) == 3


async def test_signing_in_moves_this_browsers_albums_too(open_site, client, visitor):
    album_id = await make_album(visitor, "Before the account")
    await sign_up(visitor)
    user = await open_site.accounts.users.by_name("alice")
    (album,) = await open_site.albums.albums.of_owner(user.owner)
    assert album.album_id == album_id
    assert "Before the account" in body(await visitor.request("GET", "/albums"))
    stranger = await new_browser(client)
    assert "Before the account" not in body(await stranger.request("GET", "/albums"))


async def test_one_user_cannot_delete_anothers_image(open_site, client, visitor):
    await sign_up(visitor)
    response = await visitor.upload(images.png(), "mine.png")
    name = response.headers["Location"].rsplit("/", 1)[1]
    other = await new_browser(client)
    await sign_up(other, "bob")
    response = await other.request("POST", f"/gallery/{name}")
    assert response.code == 404 and await open_site.repo.get(name) is not None
    assert name not in body(await other.request("GET", "/"))
    response = await visitor.request("POST", f"/gallery/{name}")
    assert response.code == 200 and await open_site.repo.get(name) is None


async def test_without_anonymous_uploads_only_signed_in_users_upload(open_site, client, visitor):
    reconfigure(open_site, anonymous_uploads=False)
    page = body(await visitor.request("GET", "/"))
    assert 'id="upload-form"' not in page and 'href="/signin"' in page
    body_, ctype = images.multipart([("file", "a.png", images.png())])
    for headers in ({}, visitor.headers()):
        response = await client.upload(body_, ctype, accept="application/json", headers=headers)
        assert response.code == 401 and json.loads(response.body)["code"] == "sign_in_required"
    assert await open_site.repo.count() == 0
    assert not any(open_site.settings.images_dir.iterdir())
    await sign_up(visitor)
    assert 'id="upload-form"' in body(await visitor.request("GET", "/"))
    assert (await visitor.upload(images.png(), "ok.png")).code == 201
