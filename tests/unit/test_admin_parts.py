"""Small pure parts of the admin area: settings, log tail, safe redirects."""

import argon2
import pytest

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
