import re
from pathlib import Path

import pytest

from imagehost.settings import DECLARED, SettingsError, load_settings


def test_defaults_are_valid(tmp_path):
    settings = load_settings({"VAR_DIR": str(tmp_path)})
    assert settings.max_upload_bytes == 5 * 1024 * 1024
    assert settings.images_dir == tmp_path / "images"
    assert settings.logs_dir == tmp_path / "logs"
    assert settings.mongodb_uri == ""
    assert settings.max_body_bytes > settings.max_upload_bytes


def test_folders_can_be_set_one_by_one(tmp_path):
    settings = load_settings({"VAR_DIR": str(tmp_path), "IMAGES_DIR": str(tmp_path / "pics")})
    assert settings.images_dir == tmp_path / "pics"


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        ("PORT", "eighty", "PORT must be a whole number"),
        ("PORT", "70000", "PORT must be between"),
        ("MAX_UPLOAD_BYTES", "0", "MAX_UPLOAD_BYTES must be between"),
        ("MONGODB_URI", "postgres://x", "MONGODB_URI must start with"),
        ("PUBLIC_URL", "example.org", "PUBLIC_URL must be an absolute"),
        ("STRIP_METADATA", "maybe", "STRIP_METADATA must be true or false"),
        ("LOG_LEVEL", "LOUD", "LOG_LEVEL"),
        ("MONGODB_DB", "a/b", "MONGODB_DB"),
        ("UPLOAD_RATE_PER_MINUTE", "0", "UPLOAD_RATE_PER_MINUTE must be between"),
        ("UPLOAD_BURST", "0", "UPLOAD_BURST must be between 1 and"),  # nginx wants burst >= 1
        ("LOGIN_RATE_PER_MINUTE", "ten", "LOGIN_RATE_PER_MINUTE must be a whole number"),
        ("LOGIN_BURST", "100001", "LOGIN_BURST must be between"),
        ("CORS_ORIGINS", "app.example.org", "CORS_ORIGINS must list origins"),
        ("CORS_ORIGINS", "https://app.example.org/path", "CORS_ORIGINS must list origins"),
        ("CORS_ORIGINS", "ftp://app.example.org", "CORS_ORIGINS must list origins"),
        ("CORS_ORIGINS", "* https://app.example.org", "CORS_ORIGINS must list origins"),
        ("CORS_ORIGINS", "https://user@app.example.org", "CORS_ORIGINS must list origins"),
        ("DEFAULT_LANGUAGE", "de", "DEFAULT_LANGUAGE must be one of en, ru"),
    ],
)
def test_bad_settings_stop_with_a_clear_message(name, value, words):
    with pytest.raises(SettingsError, match=words):
        load_settings({name: value})


@pytest.mark.parametrize(
    ("value", "origins"),
    [
        ("", ()),
        ("  ", ()),
        ("*", ("*",)),
        ("https://App.Example.org", ("https://app.example.org",)),
        (
            "https://app.example.org, http://localhost:3000/",
            ("https://app.example.org", "http://localhost:3000"),
        ),
    ],
)
def test_cors_origins_are_read_as_browsers_send_them(value, origins):
    assert load_settings({"CORS_ORIGINS": value}).cors_origins == origins


def settings_table(readme: str) -> list[tuple[str, str]]:
    """(name, default) of each row of a README's settings table."""
    text = (Path(__file__).resolve().parents[2] / readme).read_text()
    return re.findall(r"^\| `([A-Z][A-Z0-9_]+)` \| ([^|]*) \|", text, flags=re.M)


@pytest.mark.parametrize("readme", ["README.md", "README.ru.md"])
def test_both_readmes_list_every_setting_in_order(readme):
    assert [name for name, _ in settings_table(readme)] == [s.name for s in DECLARED]


def test_both_readmes_give_the_same_literal_defaults():
    def literal(readme):
        rows = settings_table(readme)
        return {name: default for name, default in rows if default.startswith("`")}

    assert literal("README.ru.md") == literal("README.md")
