from datetime import UTC, datetime

import pytest

from imagehost.database import ImageRecord
from imagehost.gallery import BadCursor, decode_cursor, encode_cursor
from tests.records import image_record


def at(created: datetime) -> ImageRecord:
    return image_record("Ab_-0123456789xy.gif", created_at=created)


def test_cursor_round_trips_at_millisecond_precision():
    created = datetime(2026, 11, 25, 10, 42, 33, 123000, tzinfo=UTC)
    text = encode_cursor(at(created))
    assert text == "1795603353123.Ab_-0123456789xy.gif"
    assert decode_cursor(text) == (created, "Ab_-0123456789xy.gif")


def test_cursor_keeps_only_milliseconds_as_bson_does():
    created = datetime(2026, 11, 25, 10, 42, 33, 123999, tzinfo=UTC)
    assert decode_cursor(encode_cursor(at(created)))[0] == created.replace(microsecond=123000)


def test_a_time_past_what_dates_hold_is_the_last_one():
    moment, name = decode_cursor("253788321264103.XlbKdTDwBXjFt-Ey.png")
    assert (moment.year, name) == (9999, "XlbKdTDwBXjFt-Ey.png")


@pytest.mark.parametrize(
    "text",
    ["", "abc", "12", "12.short.png", "-5.Ab_-0123456789xy.gif", "1.Ab_-0123456789xy.svg",
     "1.Ab_-0123456789xy.gif\n", "1" * 16 + ".Ab_-0123456789xy.gif", "1.../etc/passwd.png"],
)  # fmt: skip
def test_anything_else_is_a_bad_cursor(text):
    with pytest.raises(BadCursor):
        decode_cursor(text)
