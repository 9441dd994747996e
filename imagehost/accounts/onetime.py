"""The one shape of a secret handed out once (session ids, invites, API tokens): random
URL-safe text for the holder, only its SHA-256 kept."""

import hashlib
import secrets

from .users import from_ms, now_ms


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
