"""With no admin password configured, the admin area is closed and says how to open it."""

import dataclasses

import pytest

from imagehost.accounts.sessions import SESSION_COOKIE
from tests.admin import ADMIN_PASSWORD


@pytest.fixture
def settings(settings):
    return dataclasses.replace(settings, admin_password_hash="", admin_password="")


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/admin"), ("GET", "/admin/login"), ("POST", "/backup/"), ("GET", "/backup/")],
)
async def test_every_admin_route_is_403_with_how_to_open_it(visitor, ctx, method, path):
    assert not await ctx.accounts.admin_exists()
    response = await visitor.request(method, path)
    assert response.code == 403
    assert "ADMIN_PASSWORD_HASH" in response.body.decode()
    assert "hash-password" in response.body.decode()


async def test_no_password_signs_in(visitor):
    for password in ("", ADMIN_PASSWORD):
        response = await visitor.login(password)
        assert response.code == 403
        assert SESSION_COOKIE not in visitor.cookies
