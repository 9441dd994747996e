"""Which language a reader gets: their choice, then Accept-Language, then the default."""

import pytest

from imagehost.i18n.languages import accepted, choose_language, language_name


@pytest.mark.parametrize(
    ("header", "tags"),
    [
        ("", []),
        ("ru", ["ru"]),
        ("ru-RU,ru;q=0.9,en-US;q=0.8,en;q=0.7", ["ru-RU", "ru", "en-US", "en"]),
        ("en;q=0.5, ru", ["ru", "en"]),
        ("de, ru;q=0, en;q=0.1", ["de", "en"]),
        ("fr;q=oops, en", ["en"]),
        ("en;Q=0.2 , ru;q=0.3", ["ru", "en"]),
    ],
)
def test_accept_language_is_read_in_order_of_preference(header, tags):
    assert accepted(header) == tags


@pytest.mark.parametrize(
    ("choices", "header", "default", "language"),
    [
        ((), "", "en", "en"),
        (("", ""), "", "ru", "ru"),
        (("", ""), "ru-RU,ru;q=0.9", "en", "ru"),
        (("",), "de-DE, ru;q=0.5", "en", "ru"),
        (("",), "de-DE, fr", "ru", "ru"),
        (("en",), "ru", "ru", "en"),
        (("ru",), "en", "en", "ru"),
        (("xx",), "ru", "en", "ru"),
        (("",), "EN-gb", "ru", "en"),
        # The account's choice, then the cookie's: the first that we speak.
        (("ru", "en"), "en", "en", "ru"),
        (("", "ru"), "en", "en", "ru"),
        (("xx", "en"), "ru", "ru", "en"),
    ],
)
def test_choice_then_browser_then_default(choices, header, default, language):
    assert choose_language(choices, header, default) == language


def test_each_language_is_named_in_itself():
    assert language_name("ru") == "Русский"
    assert language_name("en") == "English"
