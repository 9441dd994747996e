"""The quota arithmetic: sizes as settings and the admin's form write them, whose limits apply,
where the limit falls (at it is within, one byte or image more is not), and the refusals'
words in English and Russian."""

import pytest
import tornado.locale

from imagehost.accounts.quotas import (
    Limits,
    Standing,
    limits_of,
    parse_count,
    parse_size,
    size_text,
)
from imagehost.accounts.usage import Usage
from imagehost.accounts.users import User
from imagehost.i18n import catalogs
from imagehost.settings import SettingsError, load_settings

GIB = 1024**3
DEFAULTS = Limits(5 * GIB, 500)


@pytest.fixture(scope="module")
def russian():
    catalogs.load()
    return tornado.locale.get("ru").translate


@pytest.mark.parametrize(
    "text, value",
    [("0", 0), ("10", 10), ("1536K", 1536 * 1024), ("500M", 500 * 1024**2), ("5G", 5 * GIB),
     ("5 GiB", 5 * GIB), ("5gb", 5 * GIB), (" 2t ", 2 * 1024**4), ("1024T", 1024**5)],
)  # fmt: skip
def test_sizes_are_read_in_binary_units(text, value):
    assert parse_size(text) == value


@pytest.mark.parametrize("text", ["", "x", "-1", "1.5G", "5P", "1025T", "5 G B", "G"])
def test_what_is_not_a_size(text):
    with pytest.raises(ValueError):
        parse_size(text)


@pytest.mark.parametrize("value", [0, 1, 1023, 1024, 1536 * 1024, 5 * GIB, 3 * 1024**4 + 1])
def test_a_size_written_reads_back_the_same(value):
    assert parse_size(size_text(value)) == value


def test_size_text_takes_the_largest_whole_unit():
    assert [size_text(v) for v in (5 * GIB, 500 * 1024**2, 1536 * 1024, 1000)] == [
        "5G", "500M", "1536K", "1000",
    ]  # fmt: skip


@pytest.mark.parametrize("text, value", [("0", 0), ("500", 500), (" 7 ", 7)])
def test_counts(text, value):
    assert parse_count(text) == value


@pytest.mark.parametrize("text", ["", "-1", "1.0", "ten", "1000000001"])
def test_what_is_not_a_count(text):
    with pytest.raises(ValueError):
        parse_count(text)


def user(role="user", **quota) -> User:
    return User("0" * 24, "alice", "hash", role=role, **quota)


def test_a_user_gets_the_defaults_an_admin_none_and_an_override_wins_for_both():
    assert limits_of(user(), DEFAULTS) == DEFAULTS
    assert limits_of(user("admin"), DEFAULTS) == Limits(0, 0)
    assert limits_of(user(quota_bytes=10), DEFAULTS) == Limits(10, 500)
    assert limits_of(user(quota_images_per_day=0), DEFAULTS) == Limits(5 * GIB, 0)
    assert limits_of(user("admin", quota_images_per_day=3), DEFAULTS) == Limits(0, 3)


def test_an_override_survives_the_database_and_old_documents_have_none():
    stored = User.from_document(user(quota_bytes=0, quota_images_per_day=9).to_document())
    assert (stored.quota_bytes, stored.quota_images_per_day) == (0, 9)
    old = {"_id": "x", "username": "bob", "password_hash": "h"}
    assert (User.from_document(old).quota_bytes, User.from_document(old).quota_images_per_day) == (
        None, None,
    )  # fmt: skip


def standing(limit_bytes, per_day, stored_bytes, today_images) -> Standing:
    return Standing(
        Limits(limit_bytes, per_day), Usage(3, stored_bytes), Usage(today_images, stored_bytes)
    )


def test_reaching_a_limit_exactly_is_within_and_one_more_is_not():
    assert standing(1000, 0, 900, 0).refusal(100, 1) is None
    assert standing(1000, 0, 900, 0).refusal(101, 1).code == "quota_bytes"
    assert standing(0, 5, 10**12, 4).refusal(10**9, 1) is None
    assert standing(0, 5, 0, 5).refusal(1, 1).code == "quota_daily"
    assert standing(0, 0, 10**15, 10**6).refusal(10**9, 1) is None


def test_the_bytes_are_checked_first_and_both_are_403():
    refusal = standing(10, 1, 10, 1).refusal(1, 1)
    assert (refusal.status, refusal.code) == (403, "quota_bytes")
    assert standing(0, 1, 10, 1).refusal(1, 1).status == 403


def test_without_takes_one_image_off_what_was_counted():
    counted = Standing(Limits(100, 2), Usage(2, 60), Usage(2, 60))
    assert counted.without(30) == Standing(Limits(100, 2), Usage(1, 30), Usage(1, 30))
    assert counted.without(30).refusal(30, 1) is None
    uncounted = Standing(Limits(0, 2), Usage(0, 0), Usage(2, 60))
    assert uncounted.without(30).stored == Usage(0, 0)


def test_the_refusals_say_the_limit_and_the_usage(russian):
    full = standing(5 * GIB, 0, 5 * GIB - 1000, 0).refusal(2048, 1)
    assert full.message == (
        "your account's storage is full: it stores 5.0 GiB of its 5.0 GiB, and this image needs "
        "2.0 KiB more; delete some images, or ask the admin for more room"
    )
    assert full.text("ru", russian).startswith(
        "хранилище вашей учётной записи заполнено: в нём 5,0 ГиБ из 5,0 ГиБ, а этому "
        "изображению нужно ещё 2,0 КиБ"
    )
    daily = standing(0, 1, 0, 1).refusal(1, 1)
    assert "may upload 1 image a day" in daily.message and "uploaded 1 image in" in daily.message


@pytest.mark.parametrize(
    "limit, used, words",
    [(1, 1, "загружать 1 изображение в сутки (за любые 24 часа) и уже загрузила 1 изображение"),
     (2, 2, "загружать 2 изображения в сутки (за любые 24 часа) и уже загрузила 2 изображения"),
     (500, 500, "загружать 500 изображений в сутки (за любые 24 часа) и уже загрузила 500 "
                "изображений"),
     (21, 21, "загружать 21 изображение в сутки")],
)  # fmt: skip
def test_the_daily_refusal_in_russian_takes_the_plural_forms(russian, limit, used, words):
    assert words in standing(0, limit, 0, used).refusal(1, 1).text("ru", russian)


def test_the_settings_take_sizes_and_counts_and_refuse_others():
    assert load_settings({}).quota == Limits(5 * GIB, 500)
    assert load_settings({"QUOTA_BYTES": "0", "QUOTA_IMAGES_PER_DAY": "0"}).quota == Limits(0, 0)
    assert load_settings({"QUOTA_BYTES": "200M"}).quota.bytes == 200 * 1024**2
    with pytest.raises(SettingsError, match="QUOTA_BYTES must be a number of bytes"):
        load_settings({"QUOTA_BYTES": "lots"})
    with pytest.raises(SettingsError, match="QUOTA_IMAGES_PER_DAY must be a whole number"):
        load_settings({"QUOTA_IMAGES_PER_DAY": "-5"})
