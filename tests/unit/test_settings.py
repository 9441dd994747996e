import re
import socket
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
        ("S3_CACHE_SECONDS", "61", "S3_CACHE_SECONDS must be between 0 and 60"),  # deletes: 1 min
        ("S3_CACHE_SECONDS", "-1", "S3_CACHE_SECONDS must be between 0 and 60"),
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


S3_ENV = {
    "STORAGE": "s3", "S3_BUCKET": "pics", "S3_ACCESS_KEY_ID": "k", "S3_SECRET_ACCESS_KEY": "s",
    "COOKIE_SECRET": "c" * 40,
}  # fmt: skip


def test_local_storage_is_the_default_and_has_no_bucket(tmp_path):
    assert load_settings({"VAR_DIR": str(tmp_path)}).s3 is None


def test_s3_settings_are_read_with_their_defaults(tmp_path):
    s3 = load_settings({"VAR_DIR": str(tmp_path), **S3_ENV, "S3_PREFIX": "/img/"}).s3
    assert (s3.endpoint, s3.bucket, s3.prefix, s3.region) == ("", "pics", "img", "us-east-1")
    assert (s3.access_key_id, s3.secret_access_key) == ("k", "s")
    assert s3.key("a.jpg") == "img/a.jpg"
    root = load_settings({"VAR_DIR": str(tmp_path), **S3_ENV, "S3_PREFIX": ""}).s3
    assert root.key("a.jpg") == "a.jpg"


def test_with_s3_each_replica_logs_in_a_folder_named_by_its_host(tmp_path):
    settings = load_settings({"VAR_DIR": str(tmp_path), **S3_ENV})
    assert settings.logs_dir == tmp_path / "logs" / socket.gethostname()
    assert load_settings({"VAR_DIR": str(tmp_path)}).logs_dir == tmp_path / "logs"


def test_the_standard_aws_variables_stand_in_for_unset_s3_ones(tmp_path):
    env = {
        "VAR_DIR": str(tmp_path),
        "STORAGE": "s3",
        "S3_BUCKET": "pics",
        "AWS_ACCESS_KEY_ID": "ak",
        "AWS_SECRET_ACCESS_KEY": "sk",
        "AWS_REGION": "eu-west-3",
        "AWS_ENDPOINT_URL": "https://s3.example.org/",
        "COOKIE_SECRET": "c" * 40,
    }
    s3 = load_settings(env).s3
    assert (s3.access_key_id, s3.secret_access_key, s3.region) == ("ak", "sk", "eu-west-3")
    assert s3.endpoint == "https://s3.example.org"
    s3 = load_settings({**env, "S3_ACCESS_KEY_ID": "mine", "S3_REGION": "auto"}).s3
    assert (s3.access_key_id, s3.region) == ("mine", "auto")


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"STORAGE": "ftp"}, "STORAGE must be local or s3"),
        ({"S3_BUCKET": ""}, "STORAGE=s3 needs S3_BUCKET"),
        ({"S3_BUCKET": "Not_A_Bucket"}, "S3_BUCKET must be a bucket name"),
        ({"S3_ACCESS_KEY_ID": ""}, "STORAGE=s3 needs S3_ACCESS_KEY_ID (or AWS_ACCESS_KEY_ID)"),
        ({"S3_SECRET_ACCESS_KEY": ""}, "needs S3_SECRET_ACCESS_KEY (or AWS_SECRET_ACCESS_KEY)"),
        ({"S3_ENDPOINT": "s3.example.org"}, "S3_ENDPOINT must be an http(s) URL"),
        ({"S3_ENDPOINT": "https://s3.example.org/bucket"}, "S3_ENDPOINT must be an http(s) URL"),
        ({"S3_PREFIX": "a b"}, "S3_PREFIX may hold only"),
        ({"S3_PREFIX": "a/../b"}, "S3_PREFIX may hold only"),
        (
            {"COOKIE_SECRET": ""},
            "STORAGE=s3 lets several replicas serve the site: set COOKIE_SECRET",
        ),
    ],
)
def test_bad_s3_settings_say_which_and_why(tmp_path, changes, words):
    with pytest.raises(SettingsError, match=re.escape(words)):
        load_settings({"VAR_DIR": str(tmp_path), **S3_ENV, **changes})
