"""Every form the pages render (as an anonymous visitor, a signed-in user and the admin) is
refused without its XSRF token while the browser holds the site's cookies, and changes nothing."""

import re
from html import unescape

from tests import images
from tests.images import multipart
from tests.web.accounts import reconfigure, sign_up
from tests.web.client import new_browser

FORM = re.compile(r"<form\b[^>]*>", re.IGNORECASE)
ACTION = re.compile(r'\baction="([^"]+)"')


async def actions(browser, *paths: str) -> set[str]:
    found = set()
    for path in paths:
        page = (await browser.request("GET", path)).body.decode()
        for tag in FORM.findall(page):
            if 'method="post"' in tag.lower():
                found.add(unescape(ACTION.search(tag).group(1)))
    return found


async def state(ctx) -> tuple:
    db = ctx.repo.client[ctx.settings.mongodb_db]
    counts = [
        await db[name].count_documents({}) for name in sorted(await db.list_collection_names())
    ]
    return tuple(counts), sorted(p.name for p in ctx.settings.images_dir.iterdir())


async def test_every_form_needs_its_xsrf_token(open_site, client, admin):
    user = await new_browser(client)
    await sign_up(user)
    await user.upload(images.png(), "mine.png")
    await user.request("POST", "/account/tokens", form={"name": "t"})
    await admin.upload(images.png(), "admins.png")
    anonymous = await new_browser(client)
    forms = {
        "anonymous": (anonymous, await actions(anonymous, "/", "/signin", "/signup")),
        "user": (user, await actions(user, "/", "/account", "/albums")),
    }
    reconfigure(open_site, registration="invite")  # the panel's invites are there
    await admin.request("POST", "/admin/invites")
    alice = await open_site.accounts.users.by_name("alice")
    reset = await admin.request("POST", f"/admin/users/{alice.id}/reset")
    reset_path = re.search(r'value="[^"]*(/reset/[A-Za-z0-9_-]+)"', reset.body.decode()).group(1)
    forms["reset"] = (anonymous, await actions(anonymous, reset_path))
    forms["admin"] = (
        admin,
        await actions(
            admin, "/admin", "/account", "/admin/users", f"/admin/users/{alice.id}/delete"
        ),
    )
    every = set().union(*(found for _, found in forms.values()))
    # The forms there are to check, so that a page losing one does not pass unseen.
    for expected in ("/signin", "/signup", "/signout", "/account/tokens", "/account/password",
                     "/account/imagehost.sxcu", "/admin/invites", "/admin/logout", "/upload",
                     "/language", "/backup/"):  # fmt: skip
        assert expected in every, expected
    assert any(a.startswith("/account/tokens/") for a in every)
    assert any(a.startswith("/admin/invites/") for a in every)
    assert any(a.startswith("/gallery/") for a in every)
    assert any(a.startswith("/admin/images/") for a in every)
    for action in ("disable", "reset", "delete", "role", "quota"):
        assert f"/admin/users/{alice.id}/{action}" in every, action
    assert reset_path in every
    assert "/admin/users" in every  # a new account
    before = await state(open_site)
    # Multipart, as the upload form sends it; the other forms read it as well.
    body, ctype = multipart([("name", None, b"x"), ("file", "x.png", images.png())])
    for who, (browser, found) in forms.items():
        for action in sorted(found):
            response = await browser.request(
                "POST", action, xsrf=False, body=body, headers={"Content-Type": ctype}
            )
            assert response.code == 403, (who, action, response.code)
    assert await state(open_site) == before
