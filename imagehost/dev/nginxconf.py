"""Render nginx/imagehost.conf.template the way the nginx image's envsubst does, for local runs.

`write_local_config()` wraps the rendered server in a small main config whose state lives
under VAR_DIR, so an unprivileged or root user can run Debian's nginx in the foreground.
"""

import os
import re
from pathlib import Path
from urllib.parse import urlsplit

from .. import ROOT
from ..i18n.languages import N_
from ..s3admin import endpoint_url
from ..settings import Settings

TEMPLATE = ROOT / "nginx" / "imagehost.conf.template"
# The /images/ locations, one file per storage backend, included by TEMPLATE.
IMAGES_TEMPLATES = {
    "local": ROOT / "nginx" / "images-local.conf.template",
    "s3": ROOT / "nginx" / "images-s3.conf.template",
}
# With STORAGE=s3, the bucket's upstream block, at http level (beside the server).
BUCKET_TEMPLATE = ROOT / "nginx" / "bucket-upstream.conf.template"
_VARIABLE = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)\}")

# nginx's own words, by the template's map that holds them (one line per language), with what
# fills their {placeholders} (template text). envsubst cannot translate, so the translations
# are written in the template and a unit test holds each to the catalogue.
MESSAGES = {
    "imagehost_too_large_message": (
        N_("the file is too large; the limit is {limit} bytes"),
        {"limit": "${MAX_UPLOAD_BYTES}"},
    ),
    "imagehost_upload_limit_message": (
        N_(
            "too many uploads from your address (at most {rate} a minute); try again in {seconds} s"
        ),
        {"rate": "${UPLOAD_RATE_PER_MINUTE}", "seconds": "${UPLOAD_RETRY_AFTER}"},
    ),
    "imagehost_login_limit_message": (
        N_("too many login attempts from your address; try again in {seconds} s"),
        {"seconds": "${LOGIN_RETRY_AFTER}"},
    ),
    "imagehost_error_title": (N_("Error {status}"), {"status": "$status"}),
    "imagehost_back_text": (N_("Back"), {}),
    "imagehost_bad_request_message": (
        N_("the request is malformed: the server could not read it"),
        {},
    ),
    "imagehost_length_required_message": (
        N_("the request has a body but does not give its length (Content-Length)"),
        {},
    ),
    "imagehost_uri_too_long_message": (N_("the request's address is too long"), {}),
    "imagehost_transfer_encoding_message": (
        N_("the request is sent in a transfer encoding the server does not take"),
        {},
    ),
    "imagehost_server_error_message": (N_("the server failed to answer this request"), {}),
    "imagehost_app_unavailable_message": (
        N_("the site is not answering right now; please try again shortly"),
        {},
    ),
}


def retry_after(rate_per_minute: int) -> int:
    """Whole seconds until a rate limit of `rate_per_minute` lets one more request in."""
    return -(-60 // rate_per_minute)


def template_variables(
    settings: Settings,
    listen: str,
    upstream: str,
    static_dir: Path,
    access_log: str = "",
    images_locations: str = "",
    images_cache_dir: str = "",
) -> dict:
    """The values the templates need, all derived from the app's settings.

    `access_log` defaults to LOGS_DIR/nginx-access.log (the container logs to its stdout);
    `images_locations` is where the rendered /images/ file is, `images_cache_dir` nginx's copies
    of images read from the bucket.
    """
    return {
        "LISTEN_PORT": listen,
        "APP_UPSTREAM": upstream,
        "IMAGES_LOCATIONS": images_locations,
        "IMAGES_CACHE_DIR": images_cache_dir or str(settings.var_dir / "nginx" / "cache"),
        **images_variables(settings),
        "STATIC_DIR": str(static_dir),
        "CLIENT_MAX_BODY_SIZE": str(settings.max_body_bytes),
        "MAX_UPLOAD_BYTES": str(settings.max_upload_bytes),
        "DEFAULT_LANGUAGE": settings.default_language,
        "ACCESS_LOG": access_log or str(settings.logs_dir / "nginx-access.log"),
        "UPLOAD_RATE_PER_MINUTE": str(settings.upload_rate_per_minute),
        "UPLOAD_BURST": str(settings.upload_burst),
        "UPLOAD_RETRY_AFTER": str(retry_after(settings.upload_rate_per_minute)),
        "LOGIN_RATE_PER_MINUTE": str(settings.login_rate_per_minute),
        "LOGIN_BURST": str(settings.login_burst),
        "LOGIN_RETRY_AFTER": str(retry_after(settings.login_rate_per_minute)),
    }


def images_variables(settings: Settings) -> dict:
    """The /images/ file's values: the images folder, or how nginx reaches the bucket."""
    if settings.s3 is None:
        return {"IMAGES_DIR": str(settings.images_dir)}
    origin = urlsplit(endpoint_url(settings.s3))
    path = "/" + settings.s3.bucket + (f"/{settings.s3.prefix}" if settings.s3.prefix else "")
    name = origin.netloc.rsplit(":", 1)[0] if origin.port else origin.netloc
    port = origin.port or (443 if origin.scheme == "https" else 80)
    return {
        "S3_SCHEME": origin.scheme,
        "S3_HOST": origin.netloc,
        "S3_SERVER": f"{name}:{port}",
        "S3_SSL_NAME": name,
        "S3_OBJECT_PATH": path,
        "S3_CACHE_SECONDS": str(settings.s3_cache_seconds),
        "S3_CACHE": "imagehost_images" if settings.s3_cache_seconds else "off",
    }


def images_template(settings: Settings) -> Path:
    return IMAGES_TEMPLATES["s3" if settings.s3 else "local"]


def render(template: str, variables: dict) -> str:
    """Substitute ${NAME}; an unknown name is an error, not an empty string."""

    def substitute(match: re.Match) -> str:
        name = match.group(1)
        if name not in variables:
            raise KeyError(f"nginx template needs {name}, which has no value")
        return str(variables[name])

    return _VARIABLE.sub(substitute, template)


def write_local_config(
    settings: Settings, *, http_port: int, app_port: int, run_dir: Path, listen_host="127.0.0.1"
) -> Path:
    """Write nginx.conf (and the rendered server) under `run_dir`; returns nginx.conf's path."""
    run_dir.mkdir(parents=True, exist_ok=True)
    images = run_dir / "imagehost-images.conf"
    variables = template_variables(
        settings,
        listen=f"{listen_host}:{http_port}",
        upstream=f"127.0.0.1:{app_port}",
        static_dir=ROOT / "static",
        images_locations=str(images),
        images_cache_dir=str(run_dir / "cache"),
    )
    images.write_text(render(images_template(settings).read_text(), variables))
    server = run_dir / "imagehost.conf"
    server.write_text(render(TEMPLATE.read_text(), variables))
    included = [server]
    if settings.s3:
        bucket = run_dir / "imagehost-bucket.conf"
        bucket.write_text(render(BUCKET_TEMPLATE.read_text(), variables))
        included.insert(0, bucket)
    return write_main_config(settings, run_dir, *included)


def write_main_config(settings: Settings, run_dir: Path, *included: Path) -> Path:
    """Write run_dir/nginx.conf: local state folders, logs in LOGS_DIR, the `included` files
    (each at http level)."""
    tmp = run_dir / "tmp"
    for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (tmp / sub).mkdir(parents=True, exist_ok=True)
    # As root, nginx's workers would switch to `nobody`, who may not reach a checkout
    # under /root; a local run keeps the invoking user.
    user = "user root;\n" if os.geteuid() == 0 else ""
    includes = "\n".join(f"    include {path};" for path in included)
    main = f"""{user}daemon off;
worker_processes 2;
pid {run_dir}/nginx.pid;
error_log {settings.logs_dir}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    sendfile on;
    tcp_nopush on;
    keepalive_timeout 65;
{includes}
}}
"""
    path = run_dir / "nginx.conf"
    path.write_text(main)
    return path
