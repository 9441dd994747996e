"""The admin's users page in Chromium, through nginx: the table with what each account stores,
a reset link, disabling (the user's browser is signed out at once), the account's images, and
deleting it with its images."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.pages import cards, invite_link, new_context, paste_an_image, sign_up
from tests.browser.test_admin_panel import sign_in

pytestmark = pytest.mark.browser


def test_the_users_table_and_its_actions(browser, stack, page, artifacts):
    sign_up(page, invite_link(browser, stack), "Paula")
    paste_an_image(page, "#2a9d8f")
    expect(cards(page)).to_have_count(1)
    admin_context = new_context(browser, stack)
    try:
        admin = admin_context.new_page()
        sign_in(admin)
        admin.click("#users-link")
        expect(admin).to_have_url(re.compile(r"/admin/users$"))
        row = admin.locator("tr", has_text="Paula")
        cells = row.locator("td")
        expect(cells.nth(1)).to_have_text("user")
        expect(cells.nth(2)).to_have_text("1")
        expect(cells.nth(3)).to_have_text(re.compile(r"^\d+(\.\d)? (B|KiB)$"))
        expect(cells.nth(5)).to_have_text("active")
        row.get_by_role("button", name="Password-reset link for Paula").click()
        link = admin.locator("#reset-link").input_value()
        assert re.fullmatch(rf"{re.escape(stack.url)}/reset/[A-Za-z0-9_-]{{43}}", link), link
        admin.screenshot(path=str(artifacts / "admin-users.png"), full_page=True)

        admin.get_by_role("button", name="Disable Paula").click()
        expect(admin.get_by_role("status")).to_contain_text("Paula is disabled")
        expect(admin.locator("tr", has_text="Paula").locator("td").nth(5)).to_have_text("disabled")
        page.reload()
        expect(page.locator("nav.account")).to_contain_text("Sign in")  # signed out at once
        expect(cards(page)).to_have_count(0)

        admin.locator("tr", has_text="Paula").get_by_role("link", name="Images of Paula").click()
        expect(admin.locator("#image-rows tr")).to_have_count(1)
        expect(admin.locator(".owner-filter")).to_contain_text("Paula")

        admin.goto("/admin/users")
        admin.locator("tr", has_text="Paula").get_by_role("link", name="Delete Paula…").click()
        expect(admin.locator("#stored")).to_contain_text("1 image")
        admin.get_by_label("Delete them, files and all").check()
        admin.get_by_role("button", name="Delete the account").click()
        expect(admin.get_by_role("status")).to_contain_text("Paula is deleted, with their 1 image")
        expect(admin.locator("tr", has_text="Paula")).to_have_count(0)
        assert not any(p for p in stack.settings.images_dir.iterdir())
        admin.goto("/admin/users")
        admin.get_by_role("button", name="Русский").click()
        expect(admin.locator("h1")).to_have_text("Пользователи")
        expect(admin.locator("table.users th").nth(3)).to_have_text("Занято")
        admin.screenshot(path=str(artifacts / "admin-users-ru.png"), full_page=True)
    finally:
        admin_context.close()
