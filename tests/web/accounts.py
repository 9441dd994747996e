"""What the account tests share: browsers that sign up and in, and the app reconfigured."""

import dataclasses
import re

from tests.web.client import AdminSession

PASSWORD = "a long enough secret"


def reconfigure(ctx, **changes) -> None:
    """The running app's settings changed, as a restart with other settings would."""
    ctx.settings = dataclasses.replace(ctx.settings, **changes)
    ctx.accounts.settings = ctx.settings


async def new_browser(client) -> AdminSession:
    visited = await client.visit()
    return AdminSession(client, visited.cookies, visited.xsrf)


async def sign_up(browser, username="alice", password=PASSWORD, **extra):
    form = {"username": username, "password": password, "password2": password, **extra}
    return await browser.request("POST", "/signup", form=form)


async def sign_in(browser, username="alice", password=PASSWORD):
    return await browser.request(
        "POST", "/signin", form={"username": username, "password": password}
    )


def body(response) -> str:
    return response.body.decode()


async def signed_in_as(browser) -> str:
    page = body(await browser.request("GET", "/"))
    match = re.search(r'class="signed-in"[^>]*>Signed in as ([^<]+)<', page)
    return match.group(1) if match else ""
