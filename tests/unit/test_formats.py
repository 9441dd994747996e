"""Counts, numbers, sizes and dates as each language writes them (Babel and the catalogues)."""

from datetime import UTC, datetime

import pytest
import tornado.locale

from imagehost.i18n import catalogs, formats


@pytest.fixture(scope="module")
def russian_catalogue():
    """Russian's catalogue, as the template namespace hands it to the formats."""
    catalogs.load()
    return tornado.locale.get("ru").translate


@pytest.mark.parametrize(
    ("count", "words"),
    [
        (1, "1 изображение"),
        (2, "2 изображения"),
        (4, "4 изображения"),
        (5, "5 изображений"),
        (11, "11 изображений"),
        (12, "12 изображений"),
        (21, "21 изображение"),
        (22, "22 изображения"),
        (0, "0 изображений"),
        (1001, "1\xa0001 изображение"),
    ],
)
def test_russian_counts_take_the_right_plural_form(russian_catalogue, count, words):
    assert formats.image_count(count, "ru", russian_catalogue) == words


@pytest.mark.parametrize(("count", "words"), [(1, "1 image"), (2, "2 images"), (0, "0 images")])
def test_english_counts(count, words):
    assert formats.image_count(count, "en") == words


@pytest.mark.parametrize(
    ("count", "russian", "english"),
    [
        (1, "1 байт", "1 byte"),
        (3, "3 байта", "3 bytes"),
        (5_242_880, "5\xa0242\xa0880 байт", "5,242,880 bytes"),
    ],
)
def test_byte_counts(russian_catalogue, count, russian, english):
    assert formats.byte_count(count, "ru", russian_catalogue) == russian
    assert formats.byte_count(count, "en") == english


def test_numbers_are_grouped_as_the_language_does():
    assert formats.number(1234567, "ru") == "1\xa0234\xa0567"
    assert formats.number(1234567, "en") == "1,234,567"
    assert formats.number(2.25, "ru", decimals=1) == "2,2"  # half to even, as Babel rounds
    assert formats.number(2.25, "en", decimals=1) == "2.2"


@pytest.mark.parametrize(
    ("nbytes", "in_russian", "in_english"),
    [
        (0, "0 Б", "0 B"),
        (1023, "1\xa0023 Б", "1,023 B"),
        (1536, "1,5 КиБ", "1.5 KiB"),
        (5 * 1024 * 1024, "5,0 МиБ", "5.0 MiB"),
        (3 * 1024**3 // 2, "1,5 ГиБ", "1.5 GiB"),
        (2 * 1024**4, "2,0 ТиБ", "2.0 TiB"),
        (3 * 1024**5, "3\xa0072,0 ТиБ", "3,072.0 TiB"),
    ],
)
def test_sizes_in_binary_units(russian_catalogue, nbytes, in_russian, in_english):
    assert formats.size(nbytes, "ru", russian_catalogue) == in_russian
    assert formats.size(nbytes, "en") == in_english


def test_dates_in_the_readers_language():
    moment = datetime(2026, 12, 1, 9, 24, 5, tzinfo=UTC)
    assert formats.date_time(moment, "ru") == "1 дек. 2026\u202fг., 09:24:05"
    assert formats.date_time(moment, "en") == "Dec 1, 2026, 9:24:05\u202fAM"


def test_a_naive_date_is_taken_as_utc():
    assert formats.date_time(datetime(2026, 1, 31, 23, 0), "ru") == "31 янв. 2026\u202fг., 23:00:00"


def test_a_message_is_translated_then_filled_with_numbers_and_sizes(russian_catalogue):
    message = "the file is too large; the limit is {limit:,} bytes ({limit:size})"
    values = {"limit": 5 * 1024 * 1024}
    assert formats.fill(message, values, "en") == (
        "the file is too large; the limit is 5,242,880 bytes (5.0 MiB)"
    )
    assert formats.fill(message, values, "ru", russian_catalogue) == (
        "файл слишком большой; предел — 5\xa0242\xa0880 Б (5,0 МиБ)"
    )


def test_other_placeholders_are_filled_as_str_format_does():
    assert formats.fill("{name} is {w}x{h}", {"name": "a.png", "w": 10, "h": 20}, "ru") == (
        "a.png is 10x20"
    )
