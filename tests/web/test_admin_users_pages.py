"""The users table a page at a time: by name, next and previous links, the count of accounts,
every link and form keeping the page, and usage counted for the page's accounts."""

import re

import pytest

from imagehost.accounts.users import User, new_user_id
from imagehost.web.handlers import admin_users
from tests.records import image_record
from tests.web.accounts import body

# With the settings' admin: admin, ann, bea, cy, dan, eve, fay, gus (3 a page: 3 pages).
NAMES = ["Gus", "ann", "Bea", "cy", "dan", "Eve", "fay"]


@pytest.fixture
async def accounts(ctx, monkeypatch):
    monkeypatch.setattr(admin_users, "PAGE_SIZE", 3)
    users = {}
    for name in NAMES:
        user = User(new_user_id(), name, "")
        await ctx.accounts.users.insert(user)
        users[name.lower()] = user
    return users


ROW = re.compile(r'<tr id="user-[0-9a-f]{24}"[^>]*>\s*<td>([^<]+)')


def rows(page: str) -> list[str]:
    return [name.strip() for name in ROW.findall(page)]


def link(page: str, rel: str) -> str | None:
    found = re.search(rf'<a rel="{rel}" href="([^"]+)"', page)
    return found.group(1).replace("&amp;", "&") if found else None


async def test_the_table_pages_by_name_both_ways(accounts, admin):
    first = body(await admin.request("GET", "/admin/users"))
    assert rows(first) == ["admin", "ann", "Bea"]
    assert link(first, "prev") is None and link(first, "next") == "/admin/users?after=Bea"
    assert "Accounts 1–3 of 8" in first
    second = body(await admin.request("GET", link(first, "next")))
    assert rows(second) == ["cy", "dan", "Eve"] and "Accounts 4–6 of 8" in second
    assert link(second, "prev") == "/admin/users?before=cy"
    third = body(await admin.request("GET", link(second, "next")))
    assert rows(third) == ["fay", "Gus"] and link(third, "next") is None
    assert "Accounts 7–8 of 8" in third
    back = body(await admin.request("GET", link(third, "prev")))
    assert rows(back) == ["cy", "dan", "Eve"]
    assert rows(body(await admin.request("GET", link(back, "prev")))) == ["admin", "ann", "Bea"]
    russian = await admin.request(
        "GET", "/admin/users?after=Bea", headers={"Cookie": admin.headers()["Cookie"] + "; lang=ru"}
    )
    assert "Учётные записи 4–6 из 8" in body(russian)


async def test_a_page_whose_neighbours_changed_still_opens(ctx, accounts, admin):
    # The names in the links need not be accounts any more.
    for name in ("fay", "gus"):
        await ctx.accounts.users.delete(accounts[name].id)
    # After the last name: the page before it.
    assert rows(body(await admin.request("GET", "/admin/users?after=gus"))) == ["cy", "dan", "Eve"]
    # Before the third name: fewer than a page before it, so the first page.
    assert rows(body(await admin.request("GET", "/admin/users?before=bea"))) == [
        "admin", "ann", "Bea"
    ]  # fmt: skip
    page = body(await admin.request("GET", "/admin/users?after=Bea"))
    assert rows(page) == ["cy", "dan", "Eve"] and link(page, "next") is None


async def test_every_link_and_form_keeps_the_page(accounts, admin):
    page = body(await admin.request("GET", "/admin/users?after=Bea"))
    dan = accounts["dan"].id
    row = page.split(f'id="user-{dan}"')[1].split("</tr>")[0]
    for action in ("disable", "reset", "quota"):
        assert f'action="/admin/users/{dan}/{action}?after=Bea"' in row, action
    assert f'hx-post="/admin/users/{dan}/quota?after=Bea"' in row
    assert f'href="/admin/users/{dan}/delete?after=Bea"' in row
    assert 'action="/admin/users?after=Bea"' in page  # making an account
    # The answer to an action is the same page.
    done = body(await admin.request("POST", f"/admin/users/{dan}/disable?after=Bea", form={}))
    assert "dan is disabled" in done and rows(done) == ["cy", "dan", "Eve"]
    made = body(await admin.request("POST", "/admin/users?after=Bea", form={"username": "abe"}))
    assert "The account abe is made" in made and rows(made) == ["cy", "dan", "Eve"]
    quota = body(
        await admin.request(
            "POST", f"/admin/users/{dan}/quota?after=Bea", form={"quota_images_per_day": "3"}
        )
    )
    assert "The quota of dan is set" in quota and rows(quota) == ["cy", "dan", "Eve"]
    promote = f"/admin/users/{dan}/role?after=Bea"
    role = body(await admin.request("POST", promote, form={"role": "admin"}))
    assert "dan is now an admin" in role and rows(role) == ["cy", "dan", "Eve"]
    assert f'action="/admin/users/{dan}/role?after=Bea"' in row
    ask = body(await admin.request("GET", f"/admin/users/{dan}/delete?before=fay"))
    assert f'action="/admin/users/{dan}/delete?before=fay"' in ask
    assert 'href="/admin/users?before=fay"' in ask
    delete = f"/admin/users/{dan}/delete?before=fay"
    gone = body(await admin.request("POST", delete, form={"images": "keep"}))
    assert "dan is deleted" in gone and rows(gone) == ["Bea", "cy", "Eve"]


async def test_a_page_counts_the_usage_of_its_own_accounts(ctx, accounts, admin):
    for index, (name, size) in enumerate((("eve", 100), ("eve", 250), ("ann", 7))):
        owner = accounts[name].owner
        await ctx.repo.insert(image_record(f"P{index:015d}.png", owner=owner, size=size))
    page = body(await admin.request("GET", "/admin/users?after=Bea"))
    eve = page.split(f'id="user-{accounts["eve"].id}"')[1].split("</tr>")[0]
    assert '<td class="number" title="2 images">2</td>' in eve and "350 B" in eve
    dan = page.split(f'id="user-{accounts["dan"].id}"')[1].split("</tr>")[0]
    assert '<td class="number" title="0 images">0</td>' in dan


@pytest.mark.parametrize("query", ["after=../x", "before=a%20b", "after=" + "a" * 33])
async def test_a_position_that_is_not_a_name_is_refused(accounts, admin, query):
    response = await admin.request("GET", f"/admin/users?{query}")
    assert response.code == 400 and "is a username" in body(response)
