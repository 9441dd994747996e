"""What the account tests share: browsers that sign up and in, and the app reconfigured."""

import dataclasses
import re

from tests import images
from tests.images import multipart
from tests.web.client import new_browser

PASSWORD = "a long enough secret"
NEW_TOKEN = re.compile(r'id="new-token"[^>]* value="(ih_[A-Za-z0-9_-]+)"')


def reconfigure(ctx, **changes) -> None:
    """The running app's settings changed, as a restart with other settings would."""
    ctx.settings = dataclasses.replace(ctx.settings, **changes)
    ctx.accounts.settings = ctx.settings


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


async def user_with_token(client, username="alice", name="laptop"):
    browser = await new_browser(client)
    assert (await sign_up(browser, username)).code == 303
    made = await browser.request("POST", "/account/tokens", htmx=True, form={"name": name})
    assert made.code == 200, made.body
    return browser, NEW_TOKEN.search(made.body.decode()).group(1)


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


async def token_upload(client, token: str, path="/upload", headers=None):
    body, ctype = multipart([("file", "tool.png", images.png())])
    return await client.upload(
        body, ctype, accept="application/json", path=path,
        headers={**bearer(token), **(headers or {})},
    )  # fmt: skip
