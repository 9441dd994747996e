"""The real app with the embedded database, served on a free port in the test's event loop."""

import dataclasses

import pytest

from imagehost.accounts.passwords import Passwords
from imagehost.context import build_context
from imagehost.migrations import prepare_database
from imagehost.web.app import make_app
from tests.admin import ADMIN_HASH, CHEAP
from tests.web.accounts import reconfigure
from tests.web.client import AdminSession, new_browser, serving


@pytest.fixture
def settings(settings):
    """The shared settings with an admin password (as its argon2 hash)."""
    return dataclasses.replace(settings, admin_password_hash=ADMIN_HASH)


@pytest.fixture
async def ctx(settings):
    async with build_context(settings) as context:
        await prepare_database(context.repo)
        # Cheap argon2 parameters, as for the admin's: tests sign up and in often.
        context.accounts.passwords = Passwords(context.accounts.passwords.executor, CHEAP)
        await context.accounts.prepare()
        yield context


@pytest.fixture
async def app(ctx):
    return make_app(ctx, ctx.settings.cookie_secret)


@pytest.fixture
async def client(app, ctx):
    async with serving(app, ctx.settings) as http:
        yield http


@pytest.fixture
async def visitor(client) -> AdminSession:
    """A browser that has not signed in (it has opened the main page)."""
    return await new_browser(client)


@pytest.fixture
async def stranger(client) -> AdminSession:
    """Another browser, with an owner cookie of its own."""
    return await new_browser(client)


@pytest.fixture
async def admin(visitor) -> AdminSession:
    """A browser signed in to the admin area."""
    response = await visitor.login()
    assert response.code == 303, response.body
    return visitor


@pytest.fixture
def open_site(ctx):
    """The app with REGISTRATION=open: anyone may sign up."""
    reconfigure(ctx, registration="open")
    return ctx
