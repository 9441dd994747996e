import os
import re
import subprocess

import pytest
from babel.messages.pofile import read_po

from imagehost.dev.nginxconf import (
    BUCKET_TEMPLATE,
    IMAGES_TEMPLATES,
    MESSAGES,
    ROOT,
    TEMPLATE,
    images_variables,
    render,
    retry_after,
    template_variables,
    write_local_config,
)
from imagehost.i18n.formats import fill
from imagehost.i18n.languages import LANGUAGES, SOURCE_LANGUAGE, catalogue_path
from imagehost.settings import load_settings


def test_every_template_variable_has_a_value(tmp_path):
    settings = load_settings({"VAR_DIR": str(tmp_path)})
    variables = template_variables(settings, "8080", "127.0.0.1:8000", ROOT / "static")
    text = render(TEMPLATE.read_text(), variables)
    assert "${" not in text
    assert f"client_max_body_size {settings.max_body_bytes};" in text


def test_unknown_variable_is_an_error():
    with pytest.raises(KeyError, match="NOPE"):
        render("listen ${NOPE};", {})


def test_nginx_variables_are_left_alone():
    assert render("proxy_set_header X-Real-IP $remote_addr;", {}) == (
        "proxy_set_header X-Real-IP $remote_addr;"
    )


DERIVED = ["CLIENT_MAX_BODY_SIZE", "UPLOAD_RETRY_AFTER", "LOGIN_RETRY_AFTER"]
# Given to nginx by compose, with the app's defaults when not.
DEFAULTED = ["MAX_UPLOAD_BYTES", "DEFAULT_LANGUAGE"]


@pytest.mark.parametrize(
    "env",
    [
        {},
        {
            "MAX_UPLOAD_BYTES": "1000000",
            "UPLOAD_RATE_PER_MINUTE": "7",
            "LOGIN_RATE_PER_MINUTE": "1",
        },
        {"UPLOAD_RATE_PER_MINUTE": "120", "LOGIN_RATE_PER_MINUTE": "61"},
        {"DEFAULT_LANGUAGE": "ru"},
    ],
)
def test_the_container_derives_the_same_values_as_local_runs(tmp_path, env):
    """nginx/15-imagehost-limits.envsh (sourced in the nginx image) agrees with dev/nginxconf.py."""
    script = ROOT / "nginx" / "15-imagehost-limits.envsh"
    # `env`, not the shell's own variables: envsubst sees only what is exported.
    echoes = "; ".join(f'env | grep "^{name}="' for name in DERIVED + DEFAULTED)
    out = subprocess.run(
        ["sh", "-c", f'. "{script}"; {echoes}'],
        env={**env, "PATH": os.environ["PATH"]},
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    settings = load_settings({"VAR_DIR": str(tmp_path), **env})
    variables = template_variables(settings, "80", "app:8000", ROOT / "static")
    assert out.stdout.splitlines() == [f"{name}={variables[name]}" for name in DERIVED + DEFAULTED]


@pytest.mark.parametrize(
    ("rate", "seconds"), [(1, 60), (7, 9), (10, 6), (59, 2), (60, 1), (61, 1), (6_000_000, 1)]
)
def test_retry_after_is_the_time_one_more_request_takes_rounded_up(rate, seconds):
    assert retry_after(rate) == seconds


def test_compose_gives_nginx_every_variable_the_template_needs():
    compose = (ROOT / "compose.yaml").read_text()
    nginx_service = compose.split("\n  nginx:\n", 1)[1].split("\nvolumes:", 1)[0]
    if "<<: *app-and-nginx" in nginx_service:
        nginx_service += compose.split("&app-and-nginx\n", 1)[1].split("\n\n", 1)[0]
    text = TEMPLATE.read_text() + IMAGES_TEMPLATES["local"].read_text()
    needed = set(re.findall(r"\$\{([A-Z_]+)\}", text)) - set(DERIVED)
    missing = [name for name in needed if f"{name}:" not in nginx_service]
    assert missing == []


SMALLEST_LIMITS = {
    "UPLOAD_RATE_PER_MINUTE": "1",
    "UPLOAD_BURST": "1",
    "LOGIN_RATE_PER_MINUTE": "1",
    "LOGIN_BURST": "1",
}
S3_ENV = {
    "STORAGE": "s3", "S3_ENDPOINT": "http://127.0.0.1:9", "S3_BUCKET": "pics",
    "S3_ACCESS_KEY_ID": "k", "S3_SECRET_ACCESS_KEY": "s", "COOKIE_SECRET": "c" * 40,
}  # fmt: skip


@pytest.mark.parametrize(
    "env",
    [{}, SMALLEST_LIMITS, S3_ENV, {**S3_ENV, "S3_CACHE_SECONDS": "0"}],
    ids=["defaults", "smallest-limits", "s3", "s3-uncached"],
)
def test_local_config_is_accepted_by_nginx(tmp_path, env):
    from imagehost.dev.devstack import find_nginx

    settings = load_settings({"VAR_DIR": str(tmp_path), **env})
    settings.logs_dir.mkdir(parents=True)
    conf = write_local_config(settings, http_port=18080, app_port=18000, run_dir=tmp_path / "ng")
    result = subprocess.run(
        [find_nginx(), "-t", "-c", str(conf), "-p", str(tmp_path / "ng"), "-e", "stderr"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr


def rendered(**env: str) -> str:
    settings = load_settings({"VAR_DIR": "/srv/imagehost", **env})
    variables = template_variables(settings, "8080", "app:8000", settings.var_dir / "static")
    return render(TEMPLATE.read_text(), variables)


def test_the_access_log_defaults_to_logs_dir_in_the_redacted_format():
    assert "access_log /srv/imagehost/logs/nginx-access.log imagehost_redacted;" in rendered()


def test_rate_limits_come_from_the_settings():
    text = rendered(UPLOAD_RATE_PER_MINUTE="12", UPLOAD_BURST="3", LOGIN_BURST="1")
    assert "zone=imagehost_upload:10m rate=12r/m;" in text
    assert "zone=imagehost_login:10m rate=10r/m;" in text
    assert "limit_req zone=imagehost_upload burst=3 nodelay;" in text
    assert "limit_req zone=imagehost_login burst=1 nodelay;" in text
    assert "(at most 12 a minute); try again in 5 s" in text
    assert "add_header Retry-After $imagehost_retry_after always;" in text
    assert "set $imagehost_retry_after 5;" in text
    assert "set $imagehost_retry_after 6;" in text  # login: 10 a minute


def test_the_server_sends_without_tcp_cork_even_under_a_main_config_that_corks(tmp_path):
    # With TCP_CORK and sendfile, a keep-alive reader of a 100 KB image from nginx's cache
    # waited 40 ms for each (bench/s3.py: 0.03x local storage); the server turns it off.
    settings = load_settings({"VAR_DIR": str(tmp_path)})
    conf = write_local_config(settings, http_port=18080, app_port=18000, run_dir=tmp_path / "ng")
    assert "tcp_nopush on;" in conf.read_text()  # as in Debian's nginx.conf
    server = rendered().split("\nserver {", 1)[1]
    assert re.search(r"^    tcp_nopush off;$", server, re.M)


def test_zones_maps_and_log_format_are_at_http_level():
    # The template is included inside http {} (conf.d in the container, nginx.conf locally).
    text = rendered()
    server = text.index("\nserver {")
    for directive in ("limit_req_zone", "map ", "log_format"):
        assert all(m.start() < server for m in re.finditer(directive, text)), directive


def test_compose_passes_the_rate_limits_from_the_same_settings():
    compose = (ROOT / "compose.yaml").read_text()
    nginx_service = compose.split("\n  nginx:\n", 1)[1].split("\nvolumes:", 1)[0]
    if "<<: *app-and-nginx" in nginx_service:
        nginx_service += compose.split("&app-and-nginx\n", 1)[1].split("\n\n", 1)[0]
    for name in ("UPLOAD_RATE_PER_MINUTE", "UPLOAD_BURST", "LOGIN_RATE_PER_MINUTE", "LOGIN_BURST"):
        default = getattr(load_settings({}), name.lower())
        assert f"{name}: ${{{name}:-{default}}}" in nginx_service


def language_maps(config: str) -> dict[str, dict[str, str]]:
    """The config's `map $imagehost_language $name {...}` blocks: {name: {key: text}}."""
    blocks = re.findall(r"map \$imagehost_language \$(\w+) \{\n(.*?)\n\}", config, re.S)
    return {name: dict(re.findall(r'^ +(\w+) "([^"]*)";$', body, re.M)) for name, body in blocks}


def translator(language: str):
    if language == SOURCE_LANGUAGE:
        return lambda message: message
    with catalogue_path(language).open("rb") as po:
        catalog = read_po(po, locale=language)
    return lambda message: catalog.get(message).string


@pytest.mark.parametrize("env", [{}, {"MAX_UPLOAD_BYTES": "1000000", "LOGIN_RATE_PER_MINUTE": "7"}])
def test_nginx_says_each_of_its_messages_as_the_catalogue_does_in_every_language(tmp_path, env):
    settings = load_settings({"VAR_DIR": str(tmp_path), **env})
    variables = template_variables(settings, "80", "app:8000", ROOT / "static")
    maps = language_maps(render(TEMPLATE.read_text(), variables))
    assert sorted(maps) == sorted(MESSAGES)
    for name, (message, values) in MESSAGES.items():
        filled = {key: render(text, variables) for key, text in values.items()}
        said = {
            language: fill(message, filled, language, translator(language))
            for language in LANGUAGES
        }
        # The source language is the map's default; every other has a line of its own.
        texts = {("default" if key == SOURCE_LANGUAGE else key): said[key] for key in said}
        assert maps[name] == texts, name


def test_nginx_chooses_among_the_languages_the_site_speaks():
    template = TEMPLATE.read_text()
    spoken = "|".join(sorted(LANGUAGES))
    choosers = re.findall(r'"~\*\^[^"]*\((\w+(?:\|\w+)*)\)', template)
    assert choosers == [spoken, spoken]
    picked = re.findall(r'"~\*\^:?(\w+):?\$?" (\w+);', template)
    assert sorted(picked) == sorted([(code, code) for code in LANGUAGES] * 2)


def test_images_come_from_the_folder_or_through_the_bucket(tmp_path):
    def images_file(**env: str) -> str:
        settings = load_settings({"VAR_DIR": str(tmp_path), **env})
        write_local_config(settings, http_port=18080, app_port=18000, run_dir=tmp_path / "ng")
        bucket = tmp_path / "ng" / "imagehost-bucket.conf"
        upstream = bucket.read_text() if settings.s3 else ""
        return upstream + (tmp_path / "ng" / "imagehost-images.conf").read_text()

    assert f"alias {tmp_path}/images/$image_name;" in images_file()
    s3 = images_file(**S3_ENV, S3_PREFIX="a/b")
    assert "rewrite ^ /pics/a/b/$image_name break;" in s3
    assert "server 127.0.0.1:9;" in s3 and "keepalive 16;" in s3
    assert "proxy_pass http://imagehost_bucket;" in s3
    assert "proxy_set_header Host 127.0.0.1:9;" in s3
    aws = images_file(**{**S3_ENV, "S3_ENDPOINT": ""}, S3_REGION="eu-west-3", S3_PREFIX="")
    assert "server s3.eu-west-3.amazonaws.com:443;" in aws
    assert "proxy_pass https://imagehost_bucket;" in aws
    assert "proxy_ssl_name s3.eu-west-3.amazonaws.com;" in aws
    assert "proxy_set_header Host s3.eu-west-3.amazonaws.com;" in aws
    assert "rewrite ^ /pics/$image_name break;" in aws
    assert "proxy_cache imagehost_images;" in s3 and "proxy_cache_valid 200 10s;" in s3
    assert "proxy_cache off;" in images_file(**S3_ENV, S3_CACHE_SECONDS="0")


# What nginx/16-imagehost-s3.envsh derives from the app's S3_* settings.
DERIVED_S3 = ["S3_SCHEME", "S3_HOST", "S3_SERVER", "S3_SSL_NAME", "S3_OBJECT_PATH", "S3_CACHE"]


@pytest.mark.parametrize(
    "env",
    [
        {"S3_ENDPOINT": "http://127.0.0.1:9000/", "S3_PREFIX": "a/b/"},
        {"S3_ENDPOINT": "http://[::1]:7480"},
        {"S3_ENDPOINT": "http://minio"},
        {"S3_ENDPOINT": "", "S3_REGION": "eu-west-3", "S3_PREFIX": ""},
        {"S3_ENDPOINT": "https://acct.r2.cloudflarestorage.com", "S3_REGION": "auto"},
        {"S3_CACHE_SECONDS": "0"},
        {"S3_CACHE_SECONDS": "25"},
    ],
)
def test_the_container_reaches_the_bucket_as_local_runs_do(tmp_path, env):
    """nginx/16-imagehost-s3.envsh (compose.s3.yaml) agrees with dev/nginxconf.py."""
    script = ROOT / "nginx" / "16-imagehost-s3.envsh"
    given = {**S3_ENV, **env}
    out = subprocess.run(
        ["sh", "-c", f'. "{script}"; echo {" ".join(f"${name}" for name in DERIVED_S3)}'],
        env={**given, "PATH": os.environ["PATH"]}, capture_output=True, text=True, check=True,
    )  # fmt: skip
    variables = images_variables(load_settings({"VAR_DIR": str(tmp_path), **given}))
    assert out.stdout.split() == [variables[name] for name in DERIVED_S3]


def test_compose_s3_gives_nginx_every_variable_the_bucket_file_needs():
    override = (ROOT / "compose.s3.yaml").read_text()
    templates = IMAGES_TEMPLATES["s3"].read_text() + BUCKET_TEMPLATE.read_text()
    needed = set(re.findall(r"\$\{([A-Z_0-9]+)\}", templates))
    assert needed == set(DERIVED_S3) | {"S3_CACHE_SECONDS"}
    assert "S3_CACHE_SECONDS: ${S3_CACHE_SECONDS:-10}" in override
    assert "16-imagehost-s3.envsh:/docker-entrypoint.d/16-imagehost-s3.envsh" in override
    assert "images-s3.conf.template:/etc/nginx/templates/imagehost-images.inc.template" in override
    assert "bucket-upstream.conf.template:/etc/nginx/templates/imagehost-bucket.conf" in override
    compose = (ROOT / "compose.yaml").read_text()
    assert (
        "images-local.conf.template:/etc/nginx/templates/imagehost-images.inc.template" in compose
    )
