"""What clients are shown of a record: its URLs, its JSON and its gallery card.

Pure functions of a record and the site's base URL ("https://host", no trailing slash).
"""

from ..accounts.quotas import Standing
from ..accounts.users import User, from_ms
from ..cards import Card, card_for
from ..database import ImageRecord
from ..uploads import Upload

# nginx serves the stored files here, straight from the image folder.
IMAGES_PREFIX = "/images/"
# The app's page of one image: /v/<stem>.
PAGES_PREFIX = "/v/"


def image_path(name: str) -> str:
    """The path of a stored file (an image or its thumbnail)."""
    return IMAGES_PREFIX + name


def page_path(record: ImageRecord) -> str:
    """The path of the image's own page (the one to share where a preview should unfurl)."""
    return PAGES_PREFIX + record.stem


def delete_path(upload: Upload) -> str:
    return f"/delete/{upload.record.name}/{upload.delete_token}"


def image_json(record: ImageRecord, base: str) -> dict:
    """What anyone may know of an image (the client's file name stays private)."""
    return {
        "url": base + image_path(record.name),
        "path": image_path(record.name),
        "name": record.name,
        "format": record.format,
        "width": record.width,
        "height": record.height,
        "size": record.size,
        "thumbnail_url": base + image_path(record.thumbnail),
        "page_url": base + page_path(record),
        # Milliseconds: what MongoDB keeps, so the upload's answer and later reads agree.
        "created_at": record.created_at.isoformat(timespec="milliseconds"),
        "expires_at": (
            record.expires_at.isoformat(timespec="milliseconds") if record.expires_at else None
        ),
    }


def user_json(user: User, standing: Standing) -> dict:
    """What the API says of the caller's own account: who, what it stores, and its limits
    (null: none)."""
    return {
        "id": user.id,
        "username": user.username,
        "role": user.role,
        "created_at": from_ms(user.created_ms).isoformat(timespec="milliseconds"),
        "usage": {
            "images": standing.stored.images,
            "bytes": standing.stored.bytes,
            "images_today": standing.today.images,
        },
        "quota": {
            "bytes": standing.limits.bytes or None,
            "images_per_day": standing.limits.images_per_day or None,
        },
    }


def upload_json(upload: Upload, base: str) -> dict:
    """The answer to a new upload (/upload and the API): the image and how to delete it."""
    return {
        **image_json(upload.record, base),
        "delete_url": base + delete_path(upload),
        "delete_token": upload.delete_token,
    }


def card(record: ImageRecord, base: str) -> Card:
    # The thumbnail stays a same-origin path: the page's CSP allows img-src 'self' only.
    return card_for(
        record,
        base + image_path(record.name),
        image_path(record.thumbnail),
        base + page_path(record),
    )
