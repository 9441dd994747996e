"""created_ms, the integer sort key the gallery and the admin list page by."""

from datetime import UTC, datetime

from imagehost.database import millis
from tests.records import image_record


def test_millis_truncates_like_bson():
    moment = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    assert millis(moment) == 1767323045678
    assert image_record(created_at=moment).to_document()["created_ms"] == 1767323045678
