"""The one shape of a secret handed out once (session ids, invites, API tokens, password
resets): random URL-safe text for the holder, only its SHA-256 kept."""

import hashlib
import secrets

from pymongo import ASCENDING, AsyncMongoClient

from ..database import create_indexes, unavailable_on_driver_error
from .users import from_ms, now_ms

# The indexes of a collection of one-time links, declared once: ensure_indexes() creates them
# and backups describe them. The TTL index removes a link when its time is up.
INDEXES = [{"key": {"expires_at": ASCENDING}, "name": "expires_ttl", "expireAfterSeconds": 0}]


def new_secret() -> tuple[str, str]:
    """A fresh secret and the hash that is stored in its place."""
    raw = secrets.token_urlsafe(32)
    return raw, secret_hash(raw)


def secret_hash(raw: str) -> str:
    # 256 random bits need no salt or slow hash: nobody can guess one to compare.
    return hashlib.sha256(raw.encode()).hexdigest()


def new_expiring(seconds: float, **fields) -> tuple[str, dict]:
    """A fresh secret and the document that stands for it, expiring after `seconds`: the
    integer `expires_ms` for queries, the date `expires_at` for a TTL index."""
    raw, hashed = new_secret()
    created = now_ms()
    expires = created + int(seconds * 1000)
    doc = {"_id": hashed, **fields, "created_ms": created, "expires_ms": expires}
    return raw, {**doc, "expires_at": from_ms(expires)}


def live(raw: str) -> dict:
    """The query for the unexpired document of secret `raw`."""
    return {"_id": secret_hash(raw), "expires_ms": {"$gt": now_ms()}}


class OneTimeLinks:
    """A collection of one-time links (invites, password resets): each document stands for
    a secret that expires (checked on every read; a TTL index removes it) and is used once."""

    def __init__(self, client: AsyncMongoClient, db_name: str, collection: str) -> None:
        self.collection = client[db_name][collection]

    async def ensure_indexes(self) -> None:
        with unavailable_on_driver_error():
            await create_indexes(self.collection, INDEXES)

    async def _make(self, seconds: float, **fields) -> str:
        """A new link's secret (not stored) for a document of `fields`."""
        raw, doc = new_expiring(seconds, **fields)
        with unavailable_on_driver_error():
            await self.collection.insert_one(doc)
        return raw

    async def _find(self, raw: str) -> dict | None:
        with unavailable_on_driver_error():
            return await self.collection.find_one(live(raw))

    async def _take(self, raw: str) -> dict | None:
        """The link's document, used up; None when it is gone, expired or used meanwhile."""
        with unavailable_on_driver_error():
            return await self.collection.find_one_and_delete(live(raw))
