"""Small pure parts of the admin area: settings, log tail, safe redirects, sign-in."""

import argon2
import pytest

from imagehost.adminauth import AdminAuth
from imagehost.logsetup import tail_lines
from imagehost.settings import SettingsError, load_settings
from imagehost.web.handlers.admin import safe_next

HASH = argon2.PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash("a passphrase")


def test_admin_settings_defaults_and_validation():
    settings = load_settings({})
    assert not settings.admin_enabled
    assert (settings.backup_keep, settings.admin_session_hours) == (7, 12)
    assert load_settings({"ADMIN_PASSWORD_HASH": HASH}).admin_enabled
    assert load_settings({"ADMIN_PASSWORD": "long enough"}).admin_enabled
    assert "long enough" not in repr(load_settings({"ADMIN_PASSWORD": "long enough"}))
    for env, message in [
        ({"ADMIN_PASSWORD": "short"}, "at least 8"),
        ({"ADMIN_PASSWORD_HASH": "plain-text"}, "hash-password"),
        ({"ADMIN_PASSWORD": "long enough", "ADMIN_PASSWORD_HASH": HASH}, "not both"),
        ({"BACKUP_KEEP": "0"}, "BACKUP_KEEP"),
        ({"ADMIN_SESSION_HOURS": "soon"}, "ADMIN_SESSION_HOURS"),
    ]:
        with pytest.raises(SettingsError, match=message):
            load_settings(env)


async def test_a_plain_admin_password_is_hashed_with_argon2_and_checked():
    auth = AdminAuth(load_settings({"ADMIN_PASSWORD": "long enough"}), failure_delay=0)
    assert auth.enabled and auth._hash.startswith("$argon2id$")
    assert await auth.check("long enough", "192.0.2.1")
    assert not await auth.check("long enough ", "192.0.2.1")
    assert not await auth.check("", "192.0.2.1")


def test_every_process_derives_the_same_session_from_a_plain_password():
    """Each worker builds its own AdminAuth: a cookie one of them signed must hold elsewhere."""
    settings = load_settings({"ADMIN_PASSWORD": "long enough"})
    first, second = AdminAuth(settings), AdminAuth(settings)
    assert first.session_value == second.session_value
    assert first.session_valid(second.session_value.encode())
    other = AdminAuth(load_settings({"ADMIN_PASSWORD": "another password"}))
    assert other.session_value != first.session_value


async def test_failures_are_counted_per_address():
    auth = AdminAuth(load_settings({"ADMIN_PASSWORD_HASH": HASH}), failure_delay=0)
    for _ in range(3):
        await auth.check("wrong", "192.0.2.1")
    await auth.check("wrong", "192.0.2.2")
    assert auth._failures["192.0.2.1"][0] == 3 and auth._failures["192.0.2.2"][0] == 1
    assert await auth.check("a passphrase", "192.0.2.1")
    assert "192.0.2.1" not in auth._failures


def test_tail_lines_reads_the_end_of_a_big_file(tmp_path):
    path = tmp_path / "app.log"
    assert tail_lines(path, 200) == []
    path.write_text("".join(f"line {i} {'x' * 300}\n" for i in range(5000)))
    lines = tail_lines(path, 200, block=4096)
    assert (
        len(lines) == 200
        and lines[0].startswith("line 4800 ")
        and lines[-1].startswith("line 4999 ")
    )
    path.write_text("one\ntwo")
    assert tail_lines(path, 200) == ["one", "two"]


@pytest.mark.parametrize(
    ("asked", "sent"),
    [
        ("/admin/log", "/admin/log"),
        ("/backup/", "/backup/"),
        ("", "/admin"),
        ("/", "/admin"),
        ("//evil.example", "/admin"),
        ("https://evil.example/admin", "/admin"),
        ("/admin\\\\evil", "/admin"),
    ],
)
def test_safe_next(asked, sent):
    assert safe_next(asked) == sent
