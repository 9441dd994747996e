"""Every setting, declared once with its default and meaning, read from the environment.

`load_settings()` validates them all and raises `SettingsError` with a clear message.
"""

import os
import re
import socket
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import argon2

from .accounts.quotas import Limits, parse_count, parse_size
from .expiry import NEVER, ExpiryLimits, ExpiryPolicy, longer, parse_duration
from .i18n.languages import LANGUAGES
from .s3config import S3Config

MIB = 1024 * 1024


class SettingsError(ValueError):
    """A setting is missing or malformed; the message says which and why."""


@dataclass(frozen=True)
class Setting:
    name: str
    default: str
    help: str


# The single table of settings; README.md documents the same names.
DECLARED = [
    Setting("MONGODB_URI", "", "MongoDB URI; empty starts the embedded nx-27017 server."),
    Setting("MONGODB_DB", "imagehost", "Database name."),
    Setting("VAR_DIR", "./var", "Base folder for local state (images, logs, backups, db)."),
    Setting("IMAGES_DIR", "", "Where image files live (default VAR_DIR/images)."),
    Setting("LOGS_DIR", "", "Where app.log is written (default VAR_DIR/logs; STORAGE=s3: /HOST)."),
    Setting("BACKUP_DIR", "", "Where backups are written (default VAR_DIR/backups)."),
    Setting("DB_DIR", "", "Embedded database folder (default VAR_DIR/db)."),
    Setting("HOST", "127.0.0.1", "Address the app listens on."),
    Setting("PORT", "8000", "Port the app listens on."),
    Setting("MAX_UPLOAD_BYTES", str(5 * MIB), "Largest accepted image file, in bytes."),
    Setting("MAX_PIXELS", "50000000", "Largest accepted image, in pixels per frame."),
    Setting("PUBLIC_URL", "", "Absolute base URL for links (default: from the request)."),
    Setting("COOKIE_SECRET", "", "Secret for signed cookies (default: generated in DB_DIR)."),
    Setting("STRIP_METADATA", "true", "Remove EXIF/XMP/IPTC/text metadata from uploads."),
    Setting("WORKERS", "0", "App processes (0 = one per CPU)."),
    Setting("IMAGE_THREADS", "1", "Threads per process for Pillow and hashing work."),
    Setting("DISK_THREADS", "4", "Threads per process for file writes (fsync) and reads."),
    Setting("DB_TIMEOUT_MS", "3000", "How long a database call may wait for the server."),
    Setting("LOG_LEVEL", "INFO", "Log level for app.log."),
    Setting("UPLOAD_RATE_PER_MINUTE", "60", "Uploads per minute per client address (nginx)."),
    Setting("UPLOAD_BURST", "50", "Uploads a client may send at once beyond that rate (nginx)."),
    Setting(
        "LOGIN_RATE_PER_MINUTE", "10", "Sign-in and sign-up tries a minute per address (nginx)."
    ),
    Setting("LOGIN_BURST", "5", "Login attempts at once beyond that rate (nginx)."),
    Setting("CORS_ORIGINS", "", "Origins that browsers may call /api/ from (or *); empty: none."),
    Setting("ADMIN_PASSWORD", "", "Admin password (empty: see ADMIN_PASSWORD_HASH)."),
    Setting("ADMIN_PASSWORD_HASH", "", "argon2 hash of the admin password (hash-password)."),
    Setting("ADMIN_SESSION_HOURS", "12", "How long an admin login lasts, in hours."),
    Setting("ADMIN_USERNAME", "admin", "The account ADMIN_PASSWORD(_HASH) makes an admin."),
    Setting("REGISTRATION", "invite", "Who may sign up: invite (links), open or closed."),
    Setting("INVITE_DAYS", "7", "How long an invite link stays good, in days."),
    Setting("SESSION_DAYS", "30", "How long a sign-in lasts (an admin's: ADMIN_SESSION_HOURS)."),
    Setting("ANONYMOUS_UPLOADS", "true", "Whether visitors who are not signed in may upload."),
    Setting("BACKUP_KEEP", "7", "How many backups to keep (the oldest are deleted)."),
    Setting("DEFAULT_LANGUAGE", "en", "Language for readers whose choice and browser name none."),
    Setting("STORAGE", "local", "Where image files live: local (IMAGES_DIR) or s3 (a bucket)."),
    Setting("S3_ENDPOINT", "", "S3 endpoint URL (default AWS_ENDPOINT_URL, else AWS S3 itself)."),
    Setting("S3_BUCKET", "", "Bucket for images (STORAGE=s3); it must exist."),
    Setting("S3_PREFIX", "images", "Key prefix of images in the bucket (may be empty)."),
    Setting("S3_REGION", "", "Bucket region (default AWS_REGION, else us-east-1)."),
    Setting("S3_ACCESS_KEY_ID", "", "Access key (default AWS_ACCESS_KEY_ID)."),
    Setting("S3_SECRET_ACCESS_KEY", "", "Secret key (default AWS_SECRET_ACCESS_KEY)."),
    Setting(
        "S3_CACHE_SECONDS",
        "10",
        "How long nginx keeps a copy of an image from the bucket (0: none).",
    ),
    Setting("DEFAULT_EXPIRY", "never", "How long a signed-in upload is kept when it asks nothing."),
    Setting("MAX_EXPIRY", "never", "The longest a signed-in upload may ask to be kept."),
    Setting("ANONYMOUS_DEFAULT_EXPIRY", "", "DEFAULT_EXPIRY for uploads without an account."),
    Setting("ANONYMOUS_MAX_EXPIRY", "", "MAX_EXPIRY for uploads without an account."),
    Setting("EXPIRY_SWEEP_SECONDS", "15", "How often expired images are deleted, in seconds."),
    Setting("QUOTA_BYTES", "5G", "Bytes each account may store (K, M, G, T: binary; 0: no limit)."),
    Setting("QUOTA_IMAGES_PER_DAY", "500", "Images each account may upload in 24 hours (0: none)."),
]

# An expired image must stop being served within a minute: the sweep's wait, plus nginx's copy
# of a bucket's image (STORAGE=s3), plus this much for the sweep's own work, stay under 60 s.
SWEEP_MARGIN_SECONDS = 10
EXPIRED_SERVED_AT_MOST = 60

# The standard AWS variables stand in for the S3_* ones left unset.
AWS_FALLBACKS = {
    "S3_ENDPOINT": ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"),
    "S3_REGION": ("AWS_REGION", "AWS_DEFAULT_REGION"),
    "S3_ACCESS_KEY_ID": ("AWS_ACCESS_KEY_ID",),
    "S3_SECRET_ACCESS_KEY": ("AWS_SECRET_ACCESS_KEY",),
}

MIN_ADMIN_PASSWORD = 8
REGISTRATION_MODES = ("invite", "open", "closed")
# One rule for every username (sign-up and ADMIN_USERNAME); they are unique ignoring case.
USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,31}")
USERNAME_RULE = "1 to 32 of A-Z a-z 0-9 . _ -, starting with a letter or digit"


@dataclass(frozen=True)
class Settings:
    mongodb_uri: str
    mongodb_db: str
    var_dir: Path
    images_dir: Path
    logs_dir: Path
    backup_dir: Path
    db_dir: Path
    host: str
    port: int
    max_upload_bytes: int
    max_pixels: int
    public_url: str
    cookie_secret: str
    strip_metadata: bool
    workers: int
    image_threads: int
    disk_threads: int
    db_timeout_ms: int
    log_level: str
    upload_rate_per_minute: int
    upload_burst: int
    login_rate_per_minute: int
    login_burst: int
    cors_origins: tuple[str, ...]
    admin_password: str = field(repr=False)
    admin_password_hash: str = field(repr=False)
    admin_session_hours: int
    backup_keep: int
    default_language: str
    admin_username: str = "admin"
    registration: str = "invite"
    invite_days: int = 7
    session_days: int = 30
    anonymous_uploads: bool = True
    s3_cache_seconds: int = 10
    s3: S3Config | None = None  # set exactly when STORAGE=s3
    expiry: ExpiryPolicy = ExpiryPolicy(ExpiryLimits(NEVER, NEVER), ExpiryLimits(NEVER, NEVER))
    expiry_sweep_seconds: int = 15
    # The accounts' default quotas (the admin may override them per user; admins have none).
    quota: Limits = Limits(5 * 1024**3, 500)

    @property
    def admin_enabled(self) -> bool:
        return bool(self.admin_password or self.admin_password_hash)

    @property
    def max_body_bytes(self) -> int:
        """The request body limit: the file limit plus room for multipart framing."""
        return self.max_upload_bytes + 64 * 1024


def _int(env: dict, name: str, low: int, high: int) -> int:
    raw = env[name].strip()
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, got {raw!r}") from None
    if not low <= value <= high:
        raise SettingsError(f"{name} must be between {low} and {high}, got {value}")
    return value


def _bool(env: dict, name: str) -> bool:
    raw = env[name].strip().lower()
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name} must be true or false, got {env[name]!r}")


def _folder(env: dict, name: str, var_dir: Path, default_leaf: str) -> Path:
    raw = env[name].strip()
    path = Path(raw) if raw else var_dir / default_leaf
    return path.absolute()


def _origins(env: dict, name: str) -> tuple[str, ...]:
    """Exact origins (scheme://host[:port]) as browsers send them, or ("*",)."""
    items = [item for item in env[name].replace(",", " ").split() if item]
    if items == ["*"]:
        return ("*",)
    origins = []
    for item in items:
        parts = urlsplit(item)
        if (
            parts.scheme not in ("http", "https")
            or not parts.netloc
            or parts.path.strip("/")
            or parts.query
            or parts.fragment
            or "@" in parts.netloc
        ):
            raise SettingsError(
                f"{name} must list origins such as https://app.example.org (or be *), got {item!r}"
            )
        origins.append(f"{parts.scheme}://{parts.netloc.lower()}")
    return tuple(origins)


def load_settings(environ: dict | None = None) -> Settings:
    """Read every declared setting from `environ` (default os.environ) and validate it."""
    source = os.environ if environ is None else environ
    env = {s.name: source.get(s.name, s.default) for s in DECLARED}

    uri = env["MONGODB_URI"].strip()
    if uri and not uri.startswith(("mongodb://", "mongodb+srv://")):
        raise SettingsError(
            f"MONGODB_URI must start with mongodb:// or mongodb+srv://, got {uri!r}"
        )
    public_url = env["PUBLIC_URL"].strip().rstrip("/")
    if public_url:
        parts = urlsplit(public_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise SettingsError(f"PUBLIC_URL must be an absolute http(s) URL, got {public_url!r}")
    level = env["LOG_LEVEL"].strip().upper()
    if level not in ("TRACE", "DEBUG", "INFO", "SUCCESS", "WARNING", "ERROR", "CRITICAL"):
        raise SettingsError(f"LOG_LEVEL must be a loguru level such as INFO, got {level!r}")
    language = env["DEFAULT_LANGUAGE"].strip().lower()
    if language not in LANGUAGES:
        spoken = ", ".join(LANGUAGES)
        raise SettingsError(f"DEFAULT_LANGUAGE must be one of {spoken}, got {language!r}")
    db_name = env["MONGODB_DB"].strip()
    if not db_name or any(c in db_name for c in '/\\. "$'):
        raise SettingsError(f"MONGODB_DB is not a valid database name: {db_name!r}")

    admin_password, admin_hash = _admin_secrets(env)
    admin_username = env["ADMIN_USERNAME"].strip()
    if not USERNAME.fullmatch(admin_username):
        raise SettingsError(f"ADMIN_USERNAME must be a valid username ({USERNAME_RULE}), got "
                            f"{admin_username!r}")  # fmt: skip
    registration = env["REGISTRATION"].strip().lower()
    if registration not in REGISTRATION_MODES:
        raise SettingsError(
            f"REGISTRATION must be invite, open or closed, got {env['REGISTRATION']!r}"
        )

    var_dir = Path(env["VAR_DIR"].strip() or "./var").absolute()
    workers = _int(env, "WORKERS", 0, 64) or (os.cpu_count() or 1)
    s3 = _s3(env, source)
    logs_dir = _folder(env, "LOGS_DIR", var_dir, "logs")
    if s3 is not None:
        # Replicas share the logs volume: each writes (and rotates) its own app.log.
        logs_dir = logs_dir / socket.gethostname()
        if not env["COOKIE_SECRET"].strip():
            raise SettingsError(
                "STORAGE=s3 lets several replicas serve the site: set COOKIE_SECRET, the same "
                "long random value on every one (a generated secret would differ per host)"
            )
    sweep_seconds = _int(env, "EXPIRY_SWEEP_SECONDS", 1, EXPIRED_SERVED_AT_MOST)
    cache_seconds = _int(env, "S3_CACHE_SECONDS", 0, 60)
    served = sweep_seconds + (cache_seconds if s3 else 0) + SWEEP_MARGIN_SECONDS
    if served > EXPIRED_SERVED_AT_MOST:
        what = "EXPIRY_SWEEP_SECONDS + S3_CACHE_SECONDS" if s3 else "EXPIRY_SWEEP_SECONDS"
        raise SettingsError(
            f"{what} must be at most {EXPIRED_SERVED_AT_MOST - SWEEP_MARGIN_SECONDS} (got "
            f"{served - SWEEP_MARGIN_SECONDS}), so an expired image stops being served within "
            f"{EXPIRED_SERVED_AT_MOST} s"
        )
    return Settings(
        mongodb_uri=uri,
        mongodb_db=db_name,
        var_dir=var_dir,
        images_dir=_folder(env, "IMAGES_DIR", var_dir, "images"),
        logs_dir=logs_dir,
        backup_dir=_folder(env, "BACKUP_DIR", var_dir, "backups"),
        db_dir=_folder(env, "DB_DIR", var_dir, "db"),
        host=env["HOST"].strip(),
        port=_int(env, "PORT", 0, 65535),
        max_upload_bytes=_int(env, "MAX_UPLOAD_BYTES", 1, 1024 * MIB),
        max_pixels=_int(env, "MAX_PIXELS", 1, 1_000_000_000),
        public_url=public_url,
        cookie_secret=env["COOKIE_SECRET"].strip(),
        strip_metadata=_bool(env, "STRIP_METADATA"),
        workers=workers,
        image_threads=_int(env, "IMAGE_THREADS", 1, 64),
        disk_threads=_int(env, "DISK_THREADS", 1, 64),
        db_timeout_ms=_int(env, "DB_TIMEOUT_MS", 100, 120_000),
        log_level=level,
        upload_rate_per_minute=_int(env, "UPLOAD_RATE_PER_MINUTE", 1, 6_000_000),
        upload_burst=_int(env, "UPLOAD_BURST", 1, 100_000),
        login_rate_per_minute=_int(env, "LOGIN_RATE_PER_MINUTE", 1, 6_000_000),
        login_burst=_int(env, "LOGIN_BURST", 1, 100_000),
        cors_origins=_origins(env, "CORS_ORIGINS"),
        admin_password=admin_password,
        admin_password_hash=admin_hash,
        admin_session_hours=_int(env, "ADMIN_SESSION_HOURS", 1, 24 * 90),
        backup_keep=_int(env, "BACKUP_KEEP", 1, 1000),
        admin_username=admin_username,
        registration=registration,
        invite_days=_int(env, "INVITE_DAYS", 1, 365),
        session_days=_int(env, "SESSION_DAYS", 1, 3650),
        anonymous_uploads=_bool(env, "ANONYMOUS_UPLOADS"),
        default_language=language,
        s3_cache_seconds=cache_seconds,
        s3=s3,
        expiry=_expiry(env),
        expiry_sweep_seconds=sweep_seconds,
        quota=_quota(env),
    )


def _quota(env: dict) -> Limits:
    try:
        size = parse_size(env["QUOTA_BYTES"])
    except ValueError:
        raise SettingsError(
            "QUOTA_BYTES must be a number of bytes, optionally with K, M, G or T (binary: 5G is "
            f"5 GiB), at most 1024T, or 0 for no limit; got {env['QUOTA_BYTES']!r}"
        ) from None
    try:
        count = parse_count(env["QUOTA_IMAGES_PER_DAY"])
    except ValueError:
        raise SettingsError(
            "QUOTA_IMAGES_PER_DAY must be a whole number of images (0 for no limit), got "
            f"{env['QUOTA_IMAGES_PER_DAY']!r}"
        ) from None
    return Limits(size, count)


def _duration(env: dict, name: str) -> int:
    try:
        return parse_duration(env[name])
    except ValueError:
        raise SettingsError(
            f"{name} must be never or a duration such as 3600, 90m, 12h, 30d or 2w (at most "
            f"3650d), got {env[name]!r}"
        ) from None


def _seconds(duration: int) -> str:
    return f"{duration} s" if duration else "never"


def _expiry(env: dict) -> ExpiryPolicy:
    """The limits of signed-in uploads, and of anonymous ones (by default the same, the
    default shortened to the anonymous maximum when that is shorter)."""
    maximum = _duration(env, "MAX_EXPIRY")
    default = _duration(env, "DEFAULT_EXPIRY")
    anonymous_max = (
        _duration(env, "ANONYMOUS_MAX_EXPIRY") if env["ANONYMOUS_MAX_EXPIRY"].strip() else maximum
    )
    if env["ANONYMOUS_DEFAULT_EXPIRY"].strip():
        anonymous_default = _duration(env, "ANONYMOUS_DEFAULT_EXPIRY")
    else:
        anonymous_default = anonymous_max if longer(default, anonymous_max) else default
    for prefix, low, high in (
        ("", default, maximum),
        ("ANONYMOUS_", anonymous_default, anonymous_max),
    ):
        if longer(low, high):
            raise SettingsError(
                f"{prefix}DEFAULT_EXPIRY is longer than {prefix}MAX_EXPIRY allows "
                f"({_seconds(low)} against {_seconds(high)})"
            )
    return ExpiryPolicy(
        ExpiryLimits(default, maximum), ExpiryLimits(anonymous_default, anonymous_max)
    )


def _s3(env: dict, source) -> S3Config | None:
    storage = env["STORAGE"].strip().lower()
    if storage not in ("local", "s3"):
        raise SettingsError(f"STORAGE must be local or s3, got {env['STORAGE']!r}")
    if storage == "local":
        return None
    value = {}
    for name in ("S3_ENDPOINT", "S3_REGION", "S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY"):
        value[name] = env[name].strip() or next(
            (source[alt].strip() for alt in AWS_FALLBACKS[name] if source.get(alt, "").strip()),
            "",
        )
    endpoint = value["S3_ENDPOINT"].rstrip("/")
    if endpoint:
        parts = urlsplit(endpoint)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path.strip("/"):
            raise SettingsError(
                f"S3_ENDPOINT must be an http(s) URL without a path, got {endpoint!r}"
            )
    bucket = env["S3_BUCKET"].strip()
    if not re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", bucket):
        raise SettingsError(
            f"S3_BUCKET must be a bucket name (3-63 of a-z 0-9 . -), got {bucket!r}"
            if bucket
            else "STORAGE=s3 needs S3_BUCKET"
        )
    prefix = env["S3_PREFIX"].strip().strip("/")
    segments = prefix.split("/") if prefix else []
    if any(not re.fullmatch(r"[A-Za-z0-9._-]+", s) or s in (".", "..") for s in segments):
        raise SettingsError(f"S3_PREFIX may hold only A-Z a-z 0-9 . _ - and /, got {prefix!r}")
    for name in ("S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY"):
        if not value[name]:
            raise SettingsError(f"STORAGE=s3 needs {name} (or {AWS_FALLBACKS[name][0]})")
    return S3Config(
        endpoint=endpoint,
        bucket=bucket,
        prefix=prefix,
        region=value["S3_REGION"] or "us-east-1",
        access_key_id=value["S3_ACCESS_KEY_ID"],
        secret_access_key=value["S3_SECRET_ACCESS_KEY"],
    )


def _admin_secrets(env: dict) -> tuple[str, str]:
    # The password is taken as is (spaces count); only the hash is trimmed.
    password = env["ADMIN_PASSWORD"]
    hashed = env["ADMIN_PASSWORD_HASH"].strip()
    if password and hashed:
        raise SettingsError("set ADMIN_PASSWORD or ADMIN_PASSWORD_HASH, not both")
    if password and len(password) < MIN_ADMIN_PASSWORD:
        raise SettingsError(f"ADMIN_PASSWORD must be at least {MIN_ADMIN_PASSWORD} characters")
    if hashed:
        try:
            argon2.extract_parameters(hashed)
        except argon2.exceptions.InvalidHashError:
            raise SettingsError(
                "ADMIN_PASSWORD_HASH is not an argon2 hash; make one with "
                "`python -m imagehost hash-password`"
            ) from None
    return password, hashed


def prepare_folders(settings: Settings) -> None:
    """Create the state folders and check that each is writable."""
    for path in (settings.images_dir, settings.logs_dir, settings.backup_dir, settings.db_dir):
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SettingsError(f"cannot create folder {path}: {exc.strerror}") from None
        if not os.access(path, os.W_OK | os.X_OK):
            raise SettingsError(f"folder {path} is not writable by this user")
