"""One-time invite links the admin makes (REGISTRATION=invite): each expires, and one sign-up
uses it up."""

from dataclasses import dataclass
from datetime import datetime

from pymongo import DESCENDING, AsyncMongoClient

from ..database import unavailable_on_driver_error
from .onetime import OneTimeLinks
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


class InviteStore(OneTimeLinks):
    def __init__(self, client: AsyncMongoClient, db_name: str) -> None:
        super().__init__(client, db_name, INVITES)

    async def create(self, created_by: str, seconds: float) -> str:
        """A new invite; returns its token (for the link), which is not stored."""
        return await self._make(seconds, created_by=created_by)

    async def valid(self, raw: str) -> bool:
        return await self._find(raw) is not None

    async def use(self, raw: str) -> bool:
        """Use the invite up; False when it is gone, expired or was used meanwhile."""
        return await self._take(raw) is not None

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
