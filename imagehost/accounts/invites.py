"""One-time invite links the admin makes (REGISTRATION=invite): each expires, and one sign-up
uses it up."""

from dataclasses import dataclass
from datetime import datetime

from pymongo import ASCENDING, DESCENDING, AsyncMongoClient

from ..database import unavailable_on_driver_error
from .onetime import live, new_expiring
from .users import from_ms, now_ms

INVITES = "invites"


@dataclass(frozen=True)
class Invite:
    id: str  # the token's hash; the token itself is shown once, in the link
    created_by: str
    created_ms: int
    expires_ms: int

    @property
    def created_at(self) -> datetime:
        return from_ms(self.created_ms)

    @property
    def expires_at(self) -> datetime:
        return from_ms(self.expires_ms)


class InviteStore:
    def __init__(self, client: AsyncMongoClient, db_name: str) -> None:
        self.collection = client[db_name][INVITES]

    async def ensure_indexes(self) -> None:
        with unavailable_on_driver_error():
            await self.collection.create_index(
                [("expires_at", ASCENDING)], name="expires_ttl", expireAfterSeconds=0
            )

    async def create(self, created_by: str, seconds: float) -> str:
        """A new invite; returns its token (for the link), which is not stored."""
        raw, doc = new_expiring(seconds, created_by=created_by)
        with unavailable_on_driver_error():
            await self.collection.insert_one(doc)
        return raw

    async def valid(self, raw: str) -> bool:
        with unavailable_on_driver_error():
            doc = await self.collection.find_one(live(raw), {"_id": 1})
        return doc is not None

    async def use(self, raw: str) -> bool:
        """Use the invite up; False when it is gone, expired or was used meanwhile."""
        with unavailable_on_driver_error():
            doc = await self.collection.find_one_and_delete(live(raw))
        return doc is not None

    async def pending(self) -> list[Invite]:
        """The invites not yet used or expired, newest first."""
        with unavailable_on_driver_error():
            cursor = self.collection.find({"expires_ms": {"$gt": now_ms()}}).sort(
                "created_ms", DESCENDING
            )
            docs = await cursor.to_list(200)
        return [Invite(d["_id"], d["created_by"], d["created_ms"], d["expires_ms"]) for d in docs]

    async def revoke(self, invite_id: str) -> bool:
        with unavailable_on_driver_error():
            result = await self.collection.delete_one({"_id": invite_id})
        return result.deleted_count == 1
