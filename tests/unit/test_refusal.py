"""A refusal says why in English for the logs and in the reader's language for them."""

import pytest
import tornado.locale

from imagehost.i18n import catalogs
from imagehost.images.check import ImageRejected, decode_image
from imagehost.refusal import Refusal
from imagehost.web.handlers.base import refusal_for


@pytest.fixture(scope="module")
def russian():
    catalogs.load()
    return tornado.locale.get("ru").translate


def test_english_is_the_message_and_the_exception_text():
    refusal = Refusal(413, "too_large", "the file is {size:,} bytes; the limit is {limit:,} bytes",
                      size=6_000_000, limit=5_242_880)  # fmt: skip
    assert (
        refusal.message
        == str(refusal)
        == ("the file is 6,000,000 bytes; the limit is 5,242,880 bytes")
    )
    assert (refusal.status, refusal.code) == (413, "too_large")


def test_the_reader_gets_it_in_their_language(russian):
    with pytest.raises(ImageRejected) as caught:
        decode_image(b"\x89PNG" + b"\0" * 20, max_bytes=10, max_pixels=100)
    refusal = refusal_for(caught.value)
    assert refusal.code == "too_large"
    assert refusal.text("ru", russian) == "размер файла — 24 Б; предел — 10 Б"
    assert refusal.text("en") == refusal.message == "the file is 24 bytes; the limit is 10 bytes"


def test_numbers_in_a_refusal_are_written_for_the_language(russian):
    with pytest.raises(ImageRejected) as caught:
        decode_image(b"GIF89a" + b"\0" * 10_000, max_bytes=5000, max_pixels=100)
    assert (
        refusal_for(caught.value).text("ru", russian)
        == "размер файла — 10\xa0006 Б; предел — 5\xa0000 Б"
    )
