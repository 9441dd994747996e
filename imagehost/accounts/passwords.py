"""Passwords: argon2id hashes made and checked on a thread, never many at once."""

import asyncio
from concurrent.futures import Executor

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# Each argon2 run takes 64 MiB for a tenth of a second: never many at once in one process.
AT_ONCE = 2


def hash_password(password: str, hasher: PasswordHasher | None = None) -> str:
    """An argon2id hash, with argon2-cffi's defaults unless another hasher is given."""
    return (hasher or PasswordHasher()).hash(password)


def verify_password(hashed: str, password: str) -> bool:
    # The parameters are the hash's own: a hash from ADMIN_PASSWORD_HASH checks as made.
    try:
        return PasswordHasher().verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False


class Passwords:
    """Hashing and checking off the event loop. `check_nobody` costs what a real check costs,
    so a name that has no account answers in the same time as one that has."""

    def __init__(
        self, executor: Executor | None = None, hasher: PasswordHasher | None = None
    ) -> None:
        self.executor = executor
        self.hasher = hasher or PasswordHasher()
        self._running = asyncio.Semaphore(AT_ONCE)
        self._dummy = hash_password("no account has this password", self.hasher)

    async def _run(self, function, *args):
        async with self._running:
            return await asyncio.get_running_loop().run_in_executor(self.executor, function, *args)

    async def hash(self, password: str) -> str:
        return await self._run(hash_password, password, self.hasher)

    async def check(self, hashed: str, password: str) -> bool:
        return await self._run(verify_password, hashed, password)

    async def check_nobody(self, password: str) -> bool:
        await self._run(verify_password, self._dummy, password)
        return False
