"""Admin sign-in: the password checked against an argon2 hash on a thread, failed attempts
slowed down per address (counted in MongoDB, so every replica of the app sees them) and logged,
and the value the signed session cookie holds.
"""

import asyncio
import hashlib
import hmac
from concurrent.futures import Executor

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from loguru import logger

from .coordination import LoginFailures
from .i18n.languages import N_
from .logsetup import one_line
from .settings import Settings

SESSION_COOKIE = "imagehost_admin"
CLOSED_MESSAGE = N_(
    "the admin area is closed: no admin password is configured. Set ADMIN_PASSWORD_HASH "
    "(make one with `python -m imagehost hash-password`) or ADMIN_PASSWORD, then restart"
)
# Failures from one address are forgotten after this long without another one.
FAILURE_WINDOW = 15 * 60


def hash_password(password: str, salt: bytes | None = None) -> str:
    """An argon2id hash with argon2-cffi's defaults (and a random salt unless given), for
    ADMIN_PASSWORD_HASH."""
    return PasswordHasher().hash(password, salt=salt)


class AdminAuth:
    """Checks the admin password; `failure_delay` doubles with each failure, up to `max_delay`."""

    def __init__(
        self,
        settings: Settings,
        failures: LoginFailures,
        executor: Executor | None = None,
        *,
        failure_delay: float = 1.0,
        max_delay: float = 30.0,
    ) -> None:
        self.executor = executor
        self.session_hours = settings.admin_session_hours
        self.failure_delay = failure_delay
        self.max_delay = max_delay
        self._hash = settings.admin_password_hash
        if settings.admin_password:
            # Every worker process hashes the plain password itself, and the session cookie is
            # derived from the hash: a salt of the password's own makes it the same hash in all
            # of them (a random one signed the admin out whenever another worker answered).
            # Guessing the password from a cookie still costs an argon2 run per guess.
            password = settings.admin_password.encode()
            salt = hashlib.sha256(b"imagehost admin password salt\0" + password).digest()[:16]
            self._hash = hash_password(settings.admin_password, salt)
        self.failures = failures
        # Each argon2 check takes 64 MiB for a tenth of a second: never many at once.
        self._checking = asyncio.Semaphore(2)

    @property
    def enabled(self) -> bool:
        return bool(self._hash)

    @property
    def session_value(self) -> str:
        """What the signed cookie holds: changing the password ends every session."""
        return "admin:" + hashlib.sha256(self._hash.encode()).hexdigest()[:24]

    def session_valid(self, value: bytes | None) -> bool:
        return (
            self.enabled
            and value is not None
            and hmac.compare_digest(value, self.session_value.encode())
        )

    async def check(self, password: str, client: str) -> bool:
        """True for the right password; a wrong one answers only after a growing delay."""
        if not self.enabled:
            return False
        async with self._checking:
            loop = asyncio.get_running_loop()
            ok = await loop.run_in_executor(self.executor, self._verify, password)
        if ok:
            await self.failures.clear(client)
            logger.info(f"admin login ip={one_line(client)}")
            return True
        count = await self.failures.add(client)
        delay = min(self.failure_delay * 2 ** (count - 1), self.max_delay)
        logger.warning(f"admin login failed ip={one_line(client)} failures={count}")
        await asyncio.sleep(delay)
        return False

    def _verify(self, password: str) -> bool:
        try:
            return PasswordHasher().verify(self._hash, password)
        except (VerificationError, InvalidHashError):
            return False
