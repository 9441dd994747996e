"""Per-account quotas: bytes stored and images uploaded in the last 24 hours, from the settings'
defaults or the admin's override of one user, and the one check an upload passes.

Limits are whole numbers, 0 for none. Anonymous uploads have no quota here (nginx's per-address
limit and ANONYMOUS_UPLOADS are theirs).
"""

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ..database import ImageRepository
from ..i18n.languages import N_
from ..refusal import Refusal
from .usage import NONE, Usage, usage_of
from .users import User

# "Per day" is the last 24 hours, not a calendar day: no one's allowance resets at a midnight
# of some time zone, and an image leaves the count 24 hours after it was uploaded.
DAY = timedelta(hours=24)
UNLIMITED = 0
# Where a limit may be set: up to 1 PiB, or a billion images a day.
MAX_BYTES = 1024**5
MAX_IMAGES_PER_DAY = 1_000_000_000

_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}
_SIZE = re.compile(r"(\d+)\s*([kmgt]?)(?:i?b)?")


def parse_size(text: str) -> int:
    """Bytes from "5368709120", "500M", "5G", "5 GiB", "1T" (binary units; 0: unlimited).
    ValueError when it is none of these or over MAX_BYTES."""
    match = _SIZE.fullmatch(text.strip().lower())
    if not match:
        raise ValueError(f"not a size: {text!r}")
    value = int(match.group(1)) * _UNITS[match.group(2)]
    if value > MAX_BYTES:
        raise ValueError(f"over 1 PiB: {text!r}")
    return value


def size_text(value: int) -> str:
    """A size as parse_size reads it back, in its largest whole unit: 5G, 500M, 1536K, 10."""
    for suffix, unit in (("T", 1024**4), ("G", 1024**3), ("M", 1024**2), ("K", 1024)):
        if value and value % unit == 0:
            return f"{value // unit}{suffix}"
    return str(value)


def parse_count(text: str) -> int:
    """A whole number of images from 0 (unlimited) to MAX_IMAGES_PER_DAY; ValueError else."""
    value = text.strip()
    if not value.isdigit() or int(value) > MAX_IMAGES_PER_DAY:
        raise ValueError(f"not a number of images: {text!r}")
    return int(value)


@dataclass(frozen=True)
class Limits:
    bytes: int  # bytes the account may store (UNLIMITED: no limit)
    images_per_day: int  # images it may upload in any 24 hours (UNLIMITED: no limit)

    @property
    def any(self) -> bool:
        return bool(self.bytes or self.images_per_day)


def limits_of(user: User, defaults: Limits) -> Limits:
    """The user's own override where the admin set one, else the default; the defaults do not
    apply to admins (who set them), an override does."""
    default = defaults if not user.is_admin else Limits(UNLIMITED, UNLIMITED)
    return Limits(
        default.bytes if user.quota_bytes is None else user.quota_bytes,
        default.images_per_day if user.quota_images_per_day is None else user.quota_images_per_day,
    )


@dataclass(frozen=True)
class Standing:
    """Where an account stands: its limits, what it stores, what it uploaded in 24 hours."""

    limits: Limits
    stored: Usage
    today: Usage

    def without(self, size: int) -> "Standing":
        """The standing before one image of `size` bytes, counted in both, was uploaded."""
        less = Usage(1, size)
        return Standing(self.limits, _minus(self.stored, less), _minus(self.today, less))

    def refusal(self, adding_bytes: int, adding_images: int) -> Refusal | None:
        """Why `adding_bytes` more in `adding_images` more images would be over a limit;
        None when within."""
        limits = self.limits
        if limits.bytes and self.stored.bytes + adding_bytes > limits.bytes:
            return Refusal(
                403, "quota_bytes",
                N_("your account's storage is full: it stores {used:size} of its {limit:size}, "
                   "and this image needs {size:size} more; delete some images, or ask the admin "
                   "for more room"),
                used=self.stored.bytes, limit=limits.bytes, size=adding_bytes,
            )  # fmt: skip
        if limits.images_per_day and self.today.images + adding_images > limits.images_per_day:
            return Refusal(
                403, "quota_daily",
                N_("your account may upload {limit:images} a day (in any 24 hours) and has "
                   "uploaded {used:images} in the last 24 hours; try again later"),
                limit=limits.images_per_day, used=self.today.images,
            )  # fmt: skip
        return None


def _minus(usage: Usage, less: Usage) -> Usage:
    if usage == NONE:  # not counted (no limit asked for it)
        return usage
    return Usage(max(usage.images - less.images, 0), max(usage.bytes - less.bytes, 0))


async def standing(
    repo: ImageRepository, user: User, defaults: Limits, now: datetime | None = None
) -> Standing:
    """The user's standing, from usage_by_owner: only the counts a limit needs are asked for
    (none for an account without limits), and the account page and /api/v1/me ask for both."""
    return await _standing(repo, user, limits_of(user, defaults), now, everything=True)


async def check_upload(
    repo: ImageRepository, user: User, defaults: Limits, size: int, stored: bool
) -> None:
    """Refuse (403 quota_bytes or quota_daily) an upload of `size` bytes that would take the
    user past a limit. Called twice: before the files are written (`stored` False: this
    upload is not counted yet) and once its record is in (`stored` True: it is, and so is
    every other upload of the account that got that far, in any process: in the records, and
    in the running total of `user.stored_bytes`, read as this upload added to it). The second call
    is what makes the limit exact: of uploads racing past the first check, each one that sees
    the account over the limit with itself counted is removed again, so the ones kept add up
    to at most the limit (at the edge, all of the racing ones may be refused)."""
    limits = limits_of(user, defaults)
    if not limits.any:
        return
    current = await _standing(repo, user, limits, None, everything=False)
    if stored:  # as it stood without this upload, the others that got this far counted
        current = current.without(size)
    refusal = current.refusal(size, 1)
    if refusal is not None:
        raise refusal


async def _standing(
    repo: ImageRepository, user: User, limits: Limits, now: datetime | None, everything: bool
) -> Standing:
    stored = today = NONE
    if limits.bytes and not everything and user.stored_bytes is not None:
        # The account's running total: one read instead of a sum over its records (the
        # bytes are what the limit needs).
        stored = Usage(0, user.stored_bytes)
    elif everything or limits.bytes:
        stored = await usage_of(repo, user.owner)
    if everything or limits.images_per_day:
        since = (now or datetime.now(UTC)) - DAY
        today = await usage_of(repo, user.owner, since=since)
    return Standing(limits, stored, today)
