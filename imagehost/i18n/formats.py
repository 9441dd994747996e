"""Numbers, file sizes, counts and dates written for the reader's locale through Babel.

`locale` is Tornado's: its `code` is the language and its `translate` the catalogue.
"""

from datetime import UTC, datetime

from babel.dates import format_datetime
from babel.numbers import format_decimal
from tornado.locale import Locale

from .languages import N_

# Marked here and translated in size(): a translator sees each whole phrase.
IN_BYTES = N_("{value} B")
IN_UNITS = (N_("{value} KiB"), N_("{value} MiB"), N_("{value} GiB"), N_("{value} TiB"))


def number(value: float, locale: Locale, decimals: int = 0) -> str:
    """1,234,567 in English, 1 234 567 in Russian; `decimals` places, always written."""
    pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
    return format_decimal(value, format=pattern, locale=locale.code)


def size(nbytes: int, locale: Locale) -> str:
    """1023 B, 1.5 KiB, 5.0 MiB (5,0 МиБ): binary units, as the upload limit is written."""
    if nbytes < 1024:
        return locale.translate(IN_BYTES).format(value=number(nbytes, locale))
    value, step = nbytes / 1024, 0
    while value >= 1024 and step < len(IN_UNITS) - 1:
        value, step = value / 1024, step + 1
    return locale.translate(IN_UNITS[step]).format(value=number(value, locale, decimals=1))


def images(count: int, locale: Locale) -> str:
    """1 image, 2 images; 1 изображение, 2 изображения, 5 изображений."""
    _ = locale.translate
    return _("{count} image", "{count} images", count).format(count=number(count, locale))


def date_time(moment: datetime, locale: Locale) -> str:
    """Dec 1, 2026, 9:24:00 AM; 1 дек. 2026 г., 09:24:00 (in UTC, as the admin panel says)."""
    when = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return format_datetime(when, "medium", tzinfo=UTC, locale=locale.code)
