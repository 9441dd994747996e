"""State that the app's replicas share through MongoDB, so any number of them can run behind one
nginx: leases (one holder at a time, e.g. of the backup) and sign-in failures per address and
per name."""

import os
import secrets
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager

from pymongo import AsyncMongoClient, ReturnDocument
from pymongo.errors import DuplicateKeyError, PyMongoError

from .database import DatabaseUnavailable

LEASES = "leases"
LOGIN_FAILURES = "login_failures"


@contextmanager
def _database() -> Iterator[None]:
    try:
        yield
    except DuplicateKeyError:
        raise
    except PyMongoError as exc:
        raise DatabaseUnavailable(str(exc)) from exc


def _now_ms() -> int:
    # Times are integer milliseconds: nx-27017 keeps an upserted datetime as a string.
    return time.time_ns() // 1_000_000


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Lease:
    """A named lease: one holder at a time across every replica. It lasts `seconds` unless
    renewed, so a holder that dies frees it by itself; on the holder's own host a dead holder
    frees it at once (its pid is gone)."""

    def __init__(self, client: AsyncMongoClient, db_name: str, name: str, seconds: float) -> None:
        self.collection = client[db_name][LEASES]
        self.name = name
        self.seconds = seconds
        self.host = socket.gethostname()
        self.holder = f"{self.host}:{os.getpid()}:{secrets.token_hex(6)}"

    async def acquire(self) -> bool:
        """Take the lease unless someone alive holds it."""
        now = _now_ms()
        free: list[dict] = [{"expires_ms": {"$lt": now}}]
        current = await self.current()
        if current and current["host"] == self.host and not pid_alive(current["pid"]):
            free.append({"holder": current["holder"]})
        change = {
            "holder": self.holder,
            "host": self.host,
            "pid": os.getpid(),
            "since_ms": now,
            "expires_ms": now + int(self.seconds * 1000),
        }
        try:
            with _database():
                # update_one, not find_one_and_update: nx-27017's upsert of the latter
                # neither adds the document nor raises the duplicate key.
                await self.collection.update_one(
                    {"_id": self.name, "$or": free}, {"$set": change}, upsert=True
                )
        except DuplicateKeyError:  # held: the upsert tried to add a second document
            return False
        return True

    async def renew(self) -> bool:
        """Extend the lease; False when it is no longer ours (it expired and was taken)."""
        with _database():
            result = await self.collection.update_one(
                {"_id": self.name, "holder": self.holder},
                {"$set": {"expires_ms": _now_ms() + int(self.seconds * 1000)}},
            )
        return result.matched_count == 1

    async def release(self) -> None:
        with _database():
            await self.collection.delete_one({"_id": self.name, "holder": self.holder})

    async def current(self) -> dict | None:
        """The lease's document while someone holds it, else None."""
        with _database():
            doc = await self.collection.find_one({"_id": self.name})
        if doc is None or doc["expires_ms"] < _now_ms():
            return None
        return doc

    async def held(self) -> bool:
        """True while a live holder (this process or another replica) has the lease."""
        current = await self.current()
        if current is None:
            return False
        return current["host"] != self.host or pid_alive(current["pid"])


class LoginFailures:
    """Failed sign-ins per key (`ip:<address>`, `name:<username>`), counted in one place for
    every replica; a key's count starts again after `window` seconds without a failure."""

    def __init__(self, client: AsyncMongoClient, db_name: str, window: float) -> None:
        self.collection = client[db_name][LOGIN_FAILURES]
        self.window = window

    async def add(self, address: str) -> int:
        """Count one more failure; returns the key's count."""
        now = _now_ms()
        recent = now - int(self.window * 1000)
        with _database():
            doc = await self.collection.find_one_and_update(
                {"_id": address, "last_ms": {"$gte": recent}},
                {"$inc": {"count": 1}, "$set": {"last_ms": now}},
                return_document=ReturnDocument.AFTER,
            )
            if doc is not None:
                return doc["count"]
            await self.collection.delete_many({"last_ms": {"$lt": recent}})
            await self.collection.update_one(
                {"_id": address}, {"$set": {"count": 1, "last_ms": now}}, upsert=True
            )
        return 1

    async def clear(self, address: str) -> None:
        with _database():
            await self.collection.delete_one({"_id": address})
