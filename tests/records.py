"""Image records for set-up: the fields a test cares about given, the others filled in."""

from imagehost.database import ImageRecord

_FORMATS = {"png": "png", "gif": "gif", "jpg": "jpeg"}


def image_record(name: str = "AAAAAAAAAAAAAAAA.png", **fields) -> ImageRecord:
    """A record under `name` (its format read from the suffix) with `fields` set; the rest are
    fillers: one pixel, one byte, zero hashes, no owner. Its files are the test's business."""
    values = {
        "original_name": name, "format": _FORMATS[name.rsplit(".", 1)[1]], "width": 1,
        "height": 1, "size": 1, "sha256": "0" * 64, "delete_token_hash": "0" * 64,
    }  # fmt: skip
    return ImageRecord(name=name, **{**values, **fields})
