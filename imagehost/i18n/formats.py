"""Numbers, file sizes, counts, dates and filled-in messages, written for a language by Babel.

`language` is a code ("en", "ru"); `translate` is the reader's catalogue (Tornado's
`locale.translate`: `translate(message)` or `translate(singular, plural, count)`), the
source language's own words when not given. Nothing here knows of Tornado.
"""

import string
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta

from babel.dates import format_datetime, format_timedelta
from babel.numbers import format_decimal, format_percent

from .languages import N_


def same(message: str, plural: str | None = None, count: int | None = None) -> str:
    """The source language's own words: what a message says before any translation."""
    return plural if plural is not None and count != 1 else message


Translate = Callable[..., str]

# Marked here and translated in size(): a translator sees each whole phrase.
IN_BYTES = N_("{value} B")
IN_UNITS = (N_("{value} KiB"), N_("{value} MiB"), N_("{value} GiB"), N_("{value} TiB"))


def number(value: float, language: str, decimals: int = 0) -> str:
    """1,234,567 in English, 1 234 567 in Russian; `decimals` places, always written."""
    pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
    return format_decimal(value, format=pattern, locale=language)


def percent(value: int, language: str) -> str:
    """33% in English, 33 % in Russian: `value` is in hundredths."""
    return format_percent(value / 100, locale=language)


def size(nbytes: int, language: str, translate: Translate = same) -> str:
    """1023 B, 1.5 KiB, 5.0 MiB (5,0 МиБ): binary units, as the upload limit is written."""
    if nbytes < 1024:
        return translate(IN_BYTES).format(value=number(nbytes, language))
    value, step = nbytes / 1024, 0
    while value >= 1024 and step < len(IN_UNITS) - 1:
        value, step = value / 1024, step + 1
    return translate(IN_UNITS[step]).format(value=number(value, language, decimals=1))


def image_count(count: int, language: str, translate: Translate = same) -> str:
    """1 image, 2 images; 1 изображение, 2 изображения, 5 изображений."""
    _ = translate
    return _("{count} image", "{count} images", count).format(count=number(count, language))


def byte_count(count: int, language: str, translate: Translate = same) -> str:
    """1 byte, 5,242,880 bytes; 1 байт, 2 байта, 5 242 880 байт."""
    _ = translate
    return _("{count} byte", "{count} bytes", count).format(count=number(count, language))


def date_time(moment: datetime, language: str) -> str:
    """Dec 1, 2026, 9:24:00 AM; 1 дек. 2026 г., 09:24:00 (in UTC, as the admin panel says)."""
    when = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return format_datetime(when, "medium", tzinfo=UTC, locale=language)


def duration(seconds: int, language: str) -> str:
    """1 hour, 30 days, 2 weeks; 1 час, 30 дней (a whole number of its largest unit, rounded
    only when it is not one)."""
    return format_timedelta(timedelta(seconds=seconds), threshold=1.0, locale=language)


def time_left(moment: datetime, now: datetime, language: str) -> str:
    """in 3 hours, in 2 days; через 3 часа (rounded, as people say it)."""
    return format_timedelta(moment - now, add_direction=True, locale=language)


class _Filler(string.Formatter):
    def __init__(self, language: str, translate: Translate) -> None:
        self.language, self.translate = language, translate

    def format_field(self, value, format_spec: str) -> str:
        if format_spec == "," and isinstance(value, int | float):
            return number(value, self.language)
        if format_spec == "size" and isinstance(value, int):
            return size(value, self.language, self.translate)
        if format_spec == "images" and isinstance(value, int):
            return image_count(value, self.language, self.translate)
        if format_spec == "duration" and isinstance(value, int):
            return duration(value, self.language)
        return super().format_field(value, format_spec)


def fill(message: str, values: Mapping, language: str, translate: Translate = same) -> str:
    """`message` translated, its {placeholders} filled from `values`: {name:,} is written as a
    number, {name:size} as a size, {name:images} as a count of images (in the plural form the
    number takes) and {name:duration} as a duration in `language`, anything else as
    str.format writes it."""
    return _Filler(language, translate).format(translate(message), **values)
