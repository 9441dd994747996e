"""The admin area: sign-in, sessions, XSRF, refusals without a session, the panel."""

import dataclasses
import html
import json
import re
import time
from datetime import UTC, datetime, timedelta

import pytest
from tornado.web import create_signed_value

from imagehost.accounts.service import Accounts
from imagehost.accounts.sessions import SESSION_COOKIE
from imagehost.refusal import Refusal
from tests import images
from tests.admin import ADMIN_PASSWORD
from tests.records import image_record

# Every route behind the sign-in, with a method that would act or show something.
PROTECTED = [
    ("GET", "/admin"),
    ("GET", "/admin/images"),
    ("GET", "/admin/log"),
    ("GET", "/admin/backups"),
    ("GET", "/admin/backups/imagehost-20250101T000000Z.tar"),
    ("POST", "/admin/backups/imagehost-20250101T000000Z.tar/delete"),
    ("POST", "/admin/images/AAAAAAAAAAAAAAAA.png/delete"),
    ("GET", "/backup/"),
    ("POST", "/backup/"),
]


def text(response) -> str:
    return response.body.decode()


# -- refusals ------------------------------------------------------------------------------
@pytest.mark.parametrize(("method", "path"), PROTECTED)
async def test_without_a_session_every_admin_route_is_refused(visitor, ctx, method, path):
    response = await visitor.request(method, path)
    assert response.code == 401, (path, response.code)
    assert not list(ctx.settings.backup_dir.iterdir())  # no backup started, no status written


@pytest.mark.parametrize(("method", "path"), PROTECTED)
async def test_htmx_requests_without_a_session_are_sent_to_the_login(visitor, method, path):
    response = await visitor.request(method, path, htmx=True)
    assert response.code == 401
    assert response.headers["HX-Redirect"] == "/admin/login"


async def test_a_browser_without_a_session_gets_the_sign_in_form_with_401(visitor):
    response = await visitor.request("GET", "/admin")
    assert response.code == 401
    assert 'name="password"' in text(response) and 'value="/admin"' in text(response)


async def test_refused_delete_deletes_nothing(visitor, client, ctx):
    body = await client.uploaded(images.png(), "keep.png")
    response = await visitor.request("POST", f"/admin/images/{body['name']}/delete")
    assert response.code == 401
    assert await ctx.repo.get(body["name"]) is not None
    assert (ctx.settings.images_dir / body["name"]).is_file()


async def test_a_post_without_the_xsrf_token_is_403_even_signed_in(admin, ctx):
    response = await admin.request("POST", "/backup/", xsrf=False)
    assert response.code == 403
    assert "_xsrf" in text(response) or "XSRF" in text(response)
    assert await ctx.backups.list_files() == []
    assert (await ctx.backups.status()).state == "idle"


async def test_a_wrong_xsrf_token_is_403(admin):
    response = await admin.request(
        "POST", "/backup/", xsrf=False, headers={"X-XSRFToken": "2|0|0|0"}
    )
    assert response.code == 403


async def test_signing_in_needs_the_xsrf_token_too(visitor):
    response = await visitor.request(
        "POST", "/admin/login", xsrf=False, form={"password": ADMIN_PASSWORD}
    )
    assert response.code == 403
    assert SESSION_COOKIE not in visitor.cookies


async def test_a_forged_or_foreign_session_cookie_is_refused(visitor, ctx):
    secret = ctx.settings.cookie_secret
    for value in ("admin:" + "0" * 24, "anything"):
        forged = create_signed_value(secret, SESSION_COOKIE, value).decode()
        visitor.cookies[SESSION_COOKIE] = forged
        assert (await visitor.request("GET", "/admin")).code == 401
    visitor.cookies[SESSION_COOKIE] = "not-a-session-id-at-all-0123456789"
    assert (await visitor.request("GET", "/admin")).code == 401


async def test_an_expired_session_is_refused(visitor, ctx):
    admin = await ctx.accounts.users.by_name(ctx.settings.admin_username)
    visitor.cookies[SESSION_COOKIE] = await ctx.accounts.sessions.create(admin.id, -60)
    assert (await visitor.request("GET", "/admin")).code == 401
    visitor.cookies[SESSION_COOKIE] = await ctx.accounts.sessions.create(admin.id, 60)
    assert (await visitor.request("GET", "/admin")).code == 200


# -- signing in and out --------------------------------------------------------------------
async def test_sign_in_sets_a_signed_httponly_samesite_cookie_that_expires(visitor):
    response = await visitor.login()
    assert response.code == 303 and response.headers["Location"] == "/admin"
    header = next(
        h for h in response.headers.get_list("Set-Cookie") if h.startswith(SESSION_COOKIE)
    )
    lowered = header.lower()
    assert "httponly" in lowered and "samesite=lax" in lowered and "expires=" in lowered
    assert "path=/" in lowered
    assert ADMIN_PASSWORD not in header
    panel = await visitor.request("GET", "/admin")
    assert panel.code == 200 and "Back up now" in text(panel)
    assert panel.headers["Cache-Control"] == "no-store"


async def test_sign_in_returns_to_the_page_asked_for_but_never_off_site(visitor):
    response = await visitor.request(
        "POST", "/admin/login", form={"password": ADMIN_PASSWORD, "next": "/admin/log"}
    )
    assert response.headers["Location"] == "/admin/log"
    for bad in ("//evil.example/admin", "https://evil.example/", "/\\evil.example"):
        response = await visitor.request(
            "POST", "/admin/login", form={"password": ADMIN_PASSWORD, "next": bad}
        )
        assert response.headers["Location"] == "/admin", bad


async def test_htmx_sign_in_is_answered_with_hx_redirect(visitor):
    response = await visitor.request(
        "POST", "/admin/login", htmx=True, form={"password": ADMIN_PASSWORD}
    )
    assert response.code == 200 and response.headers["HX-Redirect"] == "/admin"


async def test_a_wrong_password_is_slowed_down_logged_and_refused(visitor, ctx, log_lines):
    ctx.accounts.failure_delay = 0.3
    started = time.monotonic()
    response = await visitor.login("not the password")
    first = time.monotonic() - started
    assert response.code == 401 and "Wrong username or password" in text(response)
    assert SESSION_COOKIE not in visitor.cookies
    started = time.monotonic()
    await visitor.login("still not it")
    second = time.monotonic() - started
    assert first >= 0.3 and second >= 0.6  # the delay doubles with each failure
    failures = [line for line in log_lines if "sign-in failed user='admin'" in line]
    assert len(failures) == 2 and "failures=2" in failures[1]
    assert all("not the password" not in line and "still not it" not in line for line in log_lines)
    response = await visitor.login()
    assert response.code == 303  # the right password still works, and resets the count
    assert any("sign-in user='admin' ip=" in line for line in log_lines)


async def test_sign_out_ends_the_session(admin):
    assert (await admin.request("GET", "/admin")).code == 200
    response = await admin.request("POST", "/admin/logout")
    assert response.code == 303 and response.headers["Location"] == "/admin/login"
    assert SESSION_COOKIE not in admin.cookies
    assert (await admin.request("GET", "/admin")).code == 401


async def test_a_plain_admin_password_is_hashed_with_argon2_and_checked(ctx):
    settings = dataclasses.replace(
        ctx.settings, admin_password_hash="", admin_password="long enough", admin_username="boss"
    )
    accounts = Accounts(settings, ctx.repo.client, failure_delay=0)
    await accounts.sync_admin()
    boss = await accounts.users.by_name("BOSS")
    assert boss.is_admin and boss.password_hash.startswith("$argon2id$")
    assert (await accounts.sign_in("boss", "long enough", "192.0.2.1")).id == boss.id
    for wrong in ("long enough ", ""):
        with pytest.raises(Refusal):
            await accounts.sign_in("boss", wrong, "192.0.2.1")


async def test_failures_are_counted_per_address_for_every_replica(ctx):
    # Two Accounts on one database stand for two replicas of the app.
    one, two = (Accounts(ctx.settings, ctx.repo.client, failure_delay=0) for _ in range(2))
    for accounts in (one, two, one):
        with pytest.raises(Refusal):
            await accounts.sign_in("admin", "wrong", "192.0.2.1")
    with pytest.raises(Refusal):
        await two.sign_in("admin", "wrong", "192.0.2.2")
    failures = ctx.accounts.failures
    assert await failures.add("ip:192.0.2.1") == 4
    assert await failures.add("ip:192.0.2.2") == 2
    assert await failures.add("name:admin") == 5  # the name's count is across addresses
    assert await two.sign_in("admin", ADMIN_PASSWORD, "192.0.2.1")
    assert await one.failures.add("ip:192.0.2.1") == 1  # the right password reset the count


async def test_a_session_made_by_one_replica_holds_in_another_and_ends_in_both(ctx):
    one, two = (Accounts(ctx.settings, ctx.repo.client) for _ in range(2))
    admin = await one.sign_in("admin", ADMIN_PASSWORD, "192.0.2.1")
    raw = await one.start_session(admin)
    assert (await two.user_for_session(raw)).id == admin.id
    await two.sessions.end(raw)
    assert await one.user_for_session(raw) is None


async def test_a_new_password_ends_every_session(ctx):
    admin = await ctx.accounts.users.by_name("admin")
    raw = await ctx.accounts.start_session(admin)
    await ctx.accounts.sync_admin()  # the same password again: nothing changes
    assert (await ctx.accounts.user_for_session(raw)).id == admin.id
    changed = Accounts(
        dataclasses.replace(ctx.settings, admin_password_hash="", admin_password="a different one"),
        ctx.repo.client,
    )
    await changed.sync_admin()
    assert await ctx.accounts.user_for_session(raw) is None
    assert await changed.sign_in("admin", "a different one", "192.0.2.1")


# -- the panel -----------------------------------------------------------------------------
async def test_the_panel_shows_the_totals(admin, client, ctx):
    sizes = []
    for data, name in ((images.jpeg(), "a.jpg"), (images.png(), "b.png"), (images.gif(), "c.gif")):
        sizes.append((await client.uploaded(data, name))["size"])
    yesterday = datetime.now(UTC) - timedelta(days=1, hours=1)
    await ctx.repo.insert(
        image_record(
            "OLDOLDOLDOLDOLD0.png", original_name="old.png", size=1000, created_at=yesterday
        )
    )
    totals = await ctx.repo.totals(
        datetime.combine(datetime.now(UTC).date(), datetime.min.time(), tzinfo=UTC)
    )
    assert (totals.images, totals.bytes, totals.today) == (4, sum(sizes) + 1000, 3)
    page = text(await admin.request("GET", "/admin"))
    assert 'id="total-images" title="4 images">4<' in page
    assert 'id="total-today" title="3 images">3<' in page
    assert f'id="total-bytes" title="{sum(sizes) + 1000:,} bytes">' in page
    assert re.search(r'id="disk-free" title="[\d,]+ bytes">[\d.,]+ (B|KiB|MiB|GiB)<', page)


async def test_totals_of_an_empty_database_are_zero(ctx):
    totals = await ctx.repo.totals(datetime.now(UTC))
    assert (totals.images, totals.bytes, totals.today) == (0, 0, 0)


async def test_the_panel_lists_images_newest_first_with_thumbnail_link_and_delete(admin, client):
    first = await client.uploaded(images.png(), "first.png")
    second = await client.uploaded(images.jpeg(), "second.jpg")
    page = text(await admin.request("GET", "/admin"))
    assert page.index(second["name"]) < page.index(first["name"])
    for body in (first, second):
        assert f'href="/images/{body["name"]}"' in page
        thumb = body["thumbnail_url"].rsplit("/", 1)[1]
        assert f'src="/images/{thumb}"' in page
        assert f'hx-post="/admin/images/{body["name"]}/delete"' in page


async def test_search_by_original_name_ignores_case_and_regex_characters(admin, client):
    await client.uploaded(images.png(), "Holiday (Rome).png")
    await client.uploaded(images.png(), "cat.png")
    rows = text(await admin.request("GET", "/admin/images?q=holiday+(r", htmx=True))
    assert "Holiday (Rome).png" in rows and "cat.png" not in rows
    rows = text(await admin.request("GET", "/admin/images?q=.*", htmx=True))
    assert "No image" in rows
    full = await admin.request("GET", "/admin/images?q=cat")
    assert full.code == 302 and full.headers["Location"] == "/admin?q=cat"
    page = text(await admin.request("GET", "/admin?q=CAT"))
    assert "cat.png" in page and "Holiday" not in page


async def test_the_image_list_pages_with_a_keyset(admin, ctx):
    base = datetime(2024, 5, 1, tzinfo=UTC)
    for i in range(35):
        await ctx.repo.insert(
            image_record(
                f"PAGE{i:012d}.png",
                original_name=f"p{i}.png",
                size=10,
                created_at=base + timedelta(minutes=i // 2),  # pairs share a time: ties by name
            )
        )
    page = text(await admin.request("GET", "/admin"))
    shown = re.findall(r'href="/images/(PAGE\d+\.png)"', page)
    names = list(dict.fromkeys(shown))
    assert names == [f"PAGE{i:012d}.png" for i in range(34, 4, -1)]
    more = re.search(r'hx-get="(/admin/images\?[^"]+)"', page).group(1).replace("&amp;", "&")
    rest = text(await admin.request("GET", more, htmx=True))
    names = list(dict.fromkeys(re.findall(r'href="/images/(PAGE\d+\.png)"', rest)))
    assert names == [f"PAGE{i:012d}.png" for i in range(4, -1, -1)]
    assert "Older images" not in rest
    assert (await admin.request("GET", "/admin/images?before=garbage", htmx=True)).code == 400


async def test_delete_from_the_panel_removes_record_and_files(admin, client, ctx):
    body = await client.uploaded(images.png(), "gone.png")
    thumb = body["thumbnail_url"].rsplit("/", 1)[1]
    response = await admin.request("POST", f"/admin/images/{body['name']}/delete", htmx=True)
    assert response.code == 200 and response.body == b""
    assert await ctx.repo.get(body["name"]) is None
    assert not (ctx.settings.images_dir / body["name"]).exists()
    assert not (ctx.settings.images_dir / thumb).exists()
    again = await admin.request("POST", f"/admin/images/{body['name']}/delete", htmx=True)
    assert again.code == 404


async def test_the_log_tail_is_the_last_200_lines_escaped(admin, ctx):
    log = ctx.settings.logs_dir / "app.log"
    lines = [f"line {i}" for i in range(250)] + ['<script>alert("x")</script> & done']
    log.write_text("\n".join(lines) + "\n")
    fragment = text(await admin.request("GET", "/admin/log", htmx=True))
    assert "line 50\n" not in fragment and "line 51\n" in fragment and "line 249" in fragment
    assert "<script>" not in fragment
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; done" in fragment
    page = text(await admin.request("GET", "/admin"))
    assert "&lt;script&gt;" in page


async def test_admin_pages_run_under_the_strict_csp(admin):
    response = await admin.request("GET", "/admin")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe" not in csp
    page = text(response)
    assert re.findall(r"<script(?![^>]*\bsrc=)", page) == []
    assert " hx-on" not in page and " style=" not in page and "javascript:" not in page
    # htmx sends this header with every request it makes from the page.
    match = re.search(r'<body hx-headers="([^"]+)"', page)
    header = json.loads(html.unescape(match.group(1)))
    response = await admin.request("POST", "/backup/", xsrf=False, htmx=True, headers=header)
    assert response.code == 200
