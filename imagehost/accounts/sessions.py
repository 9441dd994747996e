"""Server-side sessions: the browser holds a random id, MongoDB only its hash, expired by a
TTL index (and checked on every read, as the TTL monitor runs once a minute)."""

from pymongo import ASCENDING, AsyncMongoClient

from ..database import create_indexes, unavailable_on_driver_error
from .onetime import live, new_expiring, secret_hash
from .users import from_ms, now_ms

SESSIONS = "sessions"
SESSION_COOKIE = "imagehost_session"
INDEXES = [
    {"key": {"expires_at": ASCENDING}, "name": "expires_ttl", "expireAfterSeconds": 0},
    {"key": {"user_id": ASCENDING}, "name": "user_id"},
]


class SessionStore:
    def __init__(self, client: AsyncMongoClient, db_name: str) -> None:
        self.collection = client[db_name][SESSIONS]

    async def ensure_indexes(self) -> None:
        with unavailable_on_driver_error():
            await create_indexes(self.collection, INDEXES)

    async def create(self, user_id: str, seconds: float) -> str:
        """A new session for `user_id`; returns the id to put in the cookie (never stored)."""
        raw, doc = new_expiring(seconds, user_id=user_id)
        with unavailable_on_driver_error():
            await self.collection.insert_one(doc)
        return raw

    async def user_id(self, raw: str) -> str | None:
        """The user of a live session, else None."""
        with unavailable_on_driver_error():
            doc = await self.collection.find_one(live(raw), {"user_id": 1})
        return doc["user_id"] if doc else None

    async def end(self, raw: str) -> None:
        with unavailable_on_driver_error():
            await self.collection.delete_one({"_id": secret_hash(raw)})

    async def shorten(self, user_id: str, seconds: float) -> int:
        """Make every session of `user_id` end within `seconds` from now; returns how many
        were cut short."""
        until = now_ms() + int(seconds * 1000)
        with unavailable_on_driver_error():
            result = await self.collection.update_many(
                {"user_id": user_id, "expires_ms": {"$gt": until}},
                {"$set": {"expires_ms": until, "expires_at": from_ms(until)}},
            )
        return result.modified_count

    async def end_all(self, user_id: str, keep: str = "") -> int:
        """End every session of `user_id` but the one whose id is `keep`; returns how many."""
        query: dict = {"user_id": user_id}
        if keep:
            query["_id"] = {"$ne": secret_hash(keep)}
        with unavailable_on_driver_error():
            result = await self.collection.delete_many(query)
        return result.deleted_count
