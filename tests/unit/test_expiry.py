"""The expiry settings, their validation at start-up, and the reading of expires_in."""

import pytest

from imagehost.expiry import DAY, HOUR, MONTH, NEVER, WEEK, ExpiryLimits, parse_duration
from imagehost.refusal import Refusal
from imagehost.settings import SettingsError, load_settings

S3_ENV = {"STORAGE": "s3", "S3_BUCKET": "pics", "S3_ACCESS_KEY_ID": "k",
          "S3_SECRET_ACCESS_KEY": "s", "COOKIE_SECRET": "c" * 40}  # fmt: skip


@pytest.mark.parametrize(
    "text, seconds",
    [("never", NEVER), ("0", NEVER), ("3600", 3600), ("90s", 90), ("30m", 1800),
     ("12h", 12 * HOUR), ("30d", 30 * DAY), ("2w", 2 * WEEK), (" 1D ", DAY)],
)  # fmt: skip
def test_durations_are_read(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "forever", "-1", "1.5h", "3651d", "1y", "h"])
def test_bad_durations_are_refused(text):
    with pytest.raises(ValueError):
        parse_duration(text)


def test_by_default_every_upload_is_kept_until_deleted():
    expiry = load_settings({}).expiry
    assert expiry.signed_in == expiry.anonymous == ExpiryLimits(NEVER, NEVER)
    assert [s for s, _ in expiry.choices(False)] == [HOUR, DAY, WEEK, MONTH, NEVER]


def test_anonymous_limits_follow_the_general_ones_unless_set():
    expiry = load_settings({"DEFAULT_EXPIRY": "1d", "MAX_EXPIRY": "30d"}).expiry
    assert expiry.anonymous == expiry.signed_in == ExpiryLimits(DAY, 30 * DAY)
    # A shorter anonymous maximum shortens the inherited default too.
    expiry = load_settings({"ANONYMOUS_MAX_EXPIRY": "1h"}).expiry
    assert expiry.signed_in == ExpiryLimits(NEVER, NEVER)
    assert expiry.anonymous == ExpiryLimits(HOUR, HOUR)
    assert expiry.choices(False) == [(HOUR, "1 hour")]
    assert len(expiry.choices(True)) == 5


def test_a_default_outside_the_choices_is_offered_too():
    expiry = load_settings({"DEFAULT_EXPIRY": "2d"}).expiry
    assert [s for s, _ in expiry.choices(True)] == [HOUR, DAY, 2 * DAY, WEEK, MONTH, NEVER]
    assert (2 * DAY, "") in expiry.choices(True)


@pytest.mark.parametrize(
    "env, message",
    [
        ({"DEFAULT_EXPIRY": "soon"}, "DEFAULT_EXPIRY must be never or a duration"),
        ({"MAX_EXPIRY": "1d", "DEFAULT_EXPIRY": "2d"}, "DEFAULT_EXPIRY is longer than MAX"),
        ({"MAX_EXPIRY": "1d"}, "DEFAULT_EXPIRY is longer than MAX_EXPIRY allows (never against"),
        ({"ANONYMOUS_MAX_EXPIRY": "1d", "ANONYMOUS_DEFAULT_EXPIRY": "never"},
         "ANONYMOUS_DEFAULT_EXPIRY is longer than ANONYMOUS_MAX_EXPIRY"),
        ({"EXPIRY_SWEEP_SECONDS": "0"}, "EXPIRY_SWEEP_SECONDS must be between 1 and 60"),
        ({"EXPIRY_SWEEP_SECONDS": "51"}, "EXPIRY_SWEEP_SECONDS must be at most 50"),
        ({**S3_ENV, "S3_CACHE_SECONDS": "40"},
         "EXPIRY_SWEEP_SECONDS + S3_CACHE_SECONDS must be at most 50 (got 55), so an expired "
         "image stops being served within 60 s"),
    ],
)  # fmt: skip
def test_bad_expiry_settings_stop_the_start(env, message):
    with pytest.raises(SettingsError) as caught:
        load_settings(env)
    assert message in str(caught.value)


def test_the_defaults_keep_an_expired_bucket_image_under_a_minute():
    settings = load_settings(S3_ENV)
    assert settings.expiry_sweep_seconds + settings.s3_cache_seconds <= 50
    assert load_settings({**S3_ENV, "EXPIRY_SWEEP_SECONDS": "5", "S3_CACHE_SECONDS": "45"})


def test_expires_in_is_read_and_held_to_the_uploaders_limit():
    expiry = load_settings({"ANONYMOUS_MAX_EXPIRY": "1w", "ANONYMOUS_DEFAULT_EXPIRY": "1d"}).expiry
    assert expiry.choose(None, signed_in=False) == DAY
    assert expiry.choose(" ", signed_in=False) == DAY
    assert expiry.choose("60", signed_in=False) == 60
    assert expiry.choose(str(WEEK), signed_in=False) == WEEK
    assert expiry.choose("0", signed_in=True) == NEVER
    for sent, code in (("0", "expiry_too_long"), (str(WEEK + 1), "expiry_too_long"),
                       ("x", "invalid_expiry"), ("-5", "invalid_expiry")):  # fmt: skip
        with pytest.raises(Refusal) as caught:
            expiry.choose(sent, signed_in=False)
        assert (caught.value.status, caught.value.code) == (400, code)
