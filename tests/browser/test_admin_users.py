"""The admin's users page in Chromium, through nginx: the table with what each account stores,
a reset link, disabling (the user's browser is signed out at once), the account's images,
deleting it with its images, a role change, and a daily quota that the user's next upload on
the page meets, in English and in Russian."""

import re

import pytest
from playwright.sync_api import expect

from tests import images
from tests.browser.pages import (
    cards,
    choose,
    file,
    invite_link,
    item,
    new_context,
    open_page,
    paste_an_image,
    sign_up,
)
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

        # The role, over htmx: the row is swapped, the notice says it, the page stays.
        row.get_by_role("button", name="Make Paula an admin").click()
        expect(admin.locator("#users-notice")).to_contain_text("Paula is now an admin")
        expect(cells.nth(1)).to_have_text("admin")
        expect(row.get_by_role("button", name="Make Paula a user")).to_be_visible()
        row.get_by_role("button", name="Make Paula a user").click()
        expect(admin.locator("#users-notice")).to_contain_text("Paula is a user again")
        expect(cells.nth(1)).to_have_text("user")

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


def test_a_daily_quota_set_in_the_table_refuses_the_users_next_upload_on_the_page(
    browser, stack, page, artifacts
):
    sign_up(page, invite_link(browser, stack), "Quinn")
    admin_context = new_context(browser, stack)
    try:
        admin = admin_context.new_page()
        sign_in(admin)
        admin.goto("/admin/users")
        if admin.locator("html").get_attribute("lang") != "en":  # kept on the admin's account
            admin.get_by_role("button", name="English").click()
        expect(admin.locator("html")).to_have_attribute("lang", "en")
        row = admin.locator("tr", has_text="Quinn")
        row.get_by_label("Images a day").fill("2")
        row.get_by_role("button", name="Set the quota of Quinn").click()
        notice = admin.locator("#users-notice")
        expect(notice).to_have_text(
            "The quota of Quinn is set. Storage: 5.0 GiB (the default). Images a day: 2."
        )
        expect(row.locator(".quota-usage")).to_contain_text("2 images a day")
        assert admin.url.endswith("/admin/users")  # swapped in place, not a new page
        # A value the server refuses is said in the same notice, and nothing changes.
        row.get_by_label("Storage quota").fill("2048T")
        row.get_by_role("button", name="Set the quota of Quinn").click()
        expect(notice.get_by_role("alert")).to_have_text(
            "Nothing changed for Quinn: the storage quota must be a number of bytes, optionally "
            "with K, M, G or T (5G is 5 GiB), 0 for no limit, or empty for the default"
        )
        admin.screenshot(path=str(artifacts / "admin-users-quota.png"), full_page=True)
    finally:
        admin_context.close()

    page.goto("/account")
    expect(page.locator("main")).to_contain_text(
        "you uploaded 0 images of the 2 a day your account may"
    )
    open_page(page)
    choose(page, *[file(f"day-{i}.png", images.png((40 + i, 30)), "image/png") for i in range(2)])
    expect(cards(page)).to_have_count(2)
    choose(page, file("third.png", images.png((45, 30)), "image/png"))
    refused = item(page, "third.png")
    expect(refused).to_have_attribute("data-state", "failed")
    expect(refused.locator(".status")).to_contain_text(
        "your account may upload 2 images a day (in any 24 hours) and has uploaded 2 images"
    )
    page.screenshot(path=str(artifacts / "quota-refused.png"), full_page=True)
    page.get_by_role("button", name="Русский").click()
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    choose(page, file("fourth.png", images.png((46, 30)), "image/png"))
    refused = item(page, "fourth.png")
    expect(refused).to_have_attribute("data-state", "failed")
    expect(refused.locator(".status")).to_contain_text(
        "ваша учётная запись может загружать 2 изображения в сутки (за любые 24 часа) и уже "
        "загрузила 2 изображения"
    )
    expect(cards(page)).to_have_count(2)
    page.screenshot(path=str(artifacts / "quota-refused-ru.png"), full_page=True)
