"""How long an upload is kept: the choices people are offered, the server's limits for anonymous
and signed-in uploads, and the one reading of a requested `expires_in`.

Durations are whole seconds; 0 means never. Nothing here knows of HTTP or the database.
"""

import re
from dataclasses import dataclass

from .i18n.languages import N_
from .refusal import Refusal

NEVER = 0
HOUR, DAY, WEEK = 3600, 86400, 7 * 86400
MONTH = 30 * DAY
# Where a duration may be set: up to ten years, in seconds.
LONGEST = 3650 * DAY

# "Delete after" on the page, in the order shown.
CHOICES = (
    (HOUR, N_("1 hour")),
    (DAY, N_("1 day")),
    (WEEK, N_("1 week")),
    (MONTH, N_("1 month")),
    (NEVER, N_("never")),
)

_UNITS = {"s": 1, "m": 60, "h": HOUR, "d": DAY, "w": WEEK}
_DURATION = re.compile(r"(\d+)\s*([smhdw]?)")


def parse_duration(text: str) -> int:
    """Seconds from a setting's value: "never" (0), "3600", "90s", "30m", "12h", "30d", "2w".
    ValueError when it is none of these or longer than LONGEST."""
    value = text.strip().lower()
    if value in ("never", "0"):
        return NEVER
    match = _DURATION.fullmatch(value)
    if not match:
        raise ValueError(f"not a duration: {text!r}")
    seconds = int(match.group(1)) * _UNITS[match.group(2) or "s"]
    if not 1 <= seconds <= LONGEST:
        raise ValueError(f"out of range (1 second to 3650 days): {text!r}")
    return seconds


def longer(a: int, b: int) -> bool:
    """Whether a duration (0 = never) is longer than another."""
    if a == NEVER:
        return b != NEVER
    return b != NEVER and a > b


@dataclass(frozen=True)
class ExpiryLimits:
    default: int  # what an upload that asks for nothing gets
    maximum: int  # the longest it may ask for (NEVER: no limit)


@dataclass(frozen=True)
class ExpiryPolicy:
    signed_in: ExpiryLimits
    anonymous: ExpiryLimits

    def limits(self, signed_in: bool) -> ExpiryLimits:
        return self.signed_in if signed_in else self.anonymous

    def choices(self, signed_in: bool) -> list[tuple[int, str]]:
        """The page's choices this uploader may take, with the default among them."""
        limits = self.limits(signed_in)
        offered = [(s, label) for s, label in CHOICES if not longer(s, limits.maximum)]
        if all(s != limits.default for s, _ in offered):
            offered.append((limits.default, ""))  # a label of "" is written as a duration
            offered.sort(key=lambda choice: choice[0] or LONGEST + 1)
        return offered

    def choose(self, requested: str | None, signed_in: bool) -> int:
        """The seconds an upload is kept: `requested` (the expires_in field, or None when it
        was not sent) read and held to this uploader's limit. A request above the limit is
        refused, never shortened: the uploader learns it before anything is stored."""
        limits = self.limits(signed_in)
        if requested is None or not requested.strip():
            return limits.default
        text = requested.strip()
        if not text.isascii() or not text.isdigit() or int(text) > LONGEST:
            raise Refusal(
                400, "invalid_expiry",
                N_("expires_in must be a whole number of seconds from 1 to {longest} (0 for "
                   "never), got '{value}'"),
                longest=LONGEST, value=text[:40],
            )  # fmt: skip
        seconds = int(text)
        if longer(seconds, limits.maximum):
            raise Refusal(
                400, "expiry_too_long",
                N_("uploads without an account are kept at most {limit:duration} ({seconds} "
                   "seconds) here; ask for less in expires_in")
                if not signed_in
                else N_("uploads are kept at most {limit:duration} ({seconds} seconds) here; "
                        "ask for less in expires_in"),
                limit=limits.maximum, seconds=limits.maximum,
            )  # fmt: skip
        return seconds
