"""nginx's rate limits on /upload and the sign-in forms, set low through the settings."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests import images
from tests.e2e.upload_script import run_script
from tests.images import multipart
from tests.stack import Http, stack_env, start_stack

pytestmark = pytest.mark.e2e

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def limited_stack(tmp_path_factory, **limits: str):
    """A stack of its own with these limits, and raw HTTP to it."""
    env = stack_env(tmp_path_factory.mktemp("limited"), MONGODB_URI="", **limits)
    with start_stack(env) as running:
        yield running, Http(running.http_port)


# One request per minute plus a burst: within a test nothing is refilled.
LOW_LIMITS = {
    "UPLOAD_RATE_PER_MINUTE": "1",
    "UPLOAD_BURST": "2",
    "LOGIN_RATE_PER_MINUTE": "1",
    "LOGIN_BURST": "1",
}


@pytest.fixture(scope="module")
def limited(tmp_path_factory):
    yield from limited_stack(tmp_path_factory, **LOW_LIMITS)


def test_uploads_beyond_the_burst_get_429_and_leave_nothing(limited):
    stack, site = limited
    answers = [site.upload(images.png(), accept="*/*") for _ in range(3)]
    assert [status for status, _, _ in answers] == [201, 201, 201]
    files = sorted(p.name for p in stack.settings.images_dir.iterdir())

    message = "too many uploads from your address (at most 1 a minute); try again in 60 s"
    status, headers, body = site.upload(images.png(), accept="*/*")
    assert status == 429
    assert headers["Content-Type"] == "text/plain; charset=utf-8"
    assert headers["Retry-After"] == "60"  # one a minute: the next one is let in a minute on
    assert headers["Vary"] == "Accept-Language"
    assert body.decode() == f"error: {message}\n"
    status, headers, body = site.upload(images.png(), accept="application/json")
    assert status == 429 and headers["Content-Type"] == "application/json"
    assert headers["Retry-After"] == "60"
    assert json.loads(body) == {"error": message, "code": "rate_limited"}
    # A form sent by a browser without JavaScript: a page, with the message where the page's
    # scripts look for one.
    status, headers, body = site.upload(images.png(), accept=BROWSER_ACCEPT)
    assert status == 429 and headers["Content-Type"] == "text/html; charset=utf-8"
    assert headers["Retry-After"] == "60"
    assert '<html lang="en">' in body.decode()
    assert f'<p class="error-message">{message}</p>' in body.decode()
    assert '<a href="/">Back</a>' in body.decode()
    assert sorted(p.name for p in stack.settings.images_dir.iterdir()) == files


def test_api_uploads_share_the_budget_and_get_json_429(limited):
    stack, site = limited
    body, ctype = multipart([("file", "a.png", images.png())])
    headers = {"Content-Type": ctype, "Accept": "*/*"}
    before = len(list(stack.settings.images_dir.iterdir()))
    # The budget is 1 a minute plus a burst of 2, whatever the tests before used of it.
    answers = [site.request("POST", "/api/v1/images", body, headers) for _ in range(4)]
    status, headers, payload = answers[-1]
    assert status == 429
    assert headers["Content-Type"] == "application/json"
    assert headers["Retry-After"] == "60"
    assert "too many uploads" in json.loads(payload)["error"]
    created = sum(1 for status, _, _ in answers if status == 201)
    # An image and its thumbnail per upload let through; nothing for those refused.
    assert len(list(stack.settings.images_dir.iterdir())) == before + 2 * created


@pytest.fixture
def spent(tmp_path_factory):
    """A stack of its own per test, whose budgets the test uses up."""
    yield from limited_stack(tmp_path_factory, **LOW_LIMITS)


RUSSIAN_UPLOADS = (
    "слишком много загрузок с вашего адреса (не больше 1 в минуту); повторите через 60 с"
)
RUSSIAN_LOGINS = "слишком много попыток входа с вашего адреса; повторите через 60 с"


@pytest.mark.parametrize(
    "language",
    [
        {"Accept-Language": "ru-RU,ru;q=0.9,en;q=0.8"},
        {"Accept-Language": "de, RU"},  # the first of the header's that the site speaks
        {"Accept-Language": "en", "Cookie": "lang=ru"},  # the switcher's choice comes first
    ],
    ids=["accept-language", "first-spoken", "cookie"],
)
def test_a_russian_reader_gets_nginx_429_in_russian_in_every_form(spent, language):
    _, site = spent
    form = {"Content-Type": "application/x-www-form-urlencoded", **language}
    answers = {}
    for accept in ("*/*", "application/json", BROWSER_ACCEPT):
        for _ in range(4):  # a burst of 2 (1 for logins): from the fourth on, all are refused
            upload = site.upload(images.png(), accept=accept, headers=language)
            login = site.request("POST", "/admin/login", b"password=x", {**form, "Accept": accept})
        answers[accept] = upload, login
    for (status, headers, _), _ in answers.values():
        assert (status, headers["Retry-After"], headers["Vary"]) == (429, "60", "Accept-Language")
    (_, _, text), (_, _, login_text) = answers["*/*"]
    assert text.decode() == f"error: {RUSSIAN_UPLOADS}\n"
    assert login_text.decode() == f"error: {RUSSIAN_LOGINS}\n"
    (_, _, payload), (_, _, login_payload) = answers["application/json"]
    assert json.loads(payload) == {"error": RUSSIAN_UPLOADS, "code": "rate_limited"}
    assert json.loads(login_payload) == {"error": RUSSIAN_LOGINS, "code": "rate_limited"}
    (_, _, page), (_, _, login_page) = answers[BROWSER_ACCEPT]
    page = page.decode()
    assert '<html lang="ru">' in page and "<h1>Ошибка 429</h1>" in page
    assert f'<p class="error-message">{RUSSIAN_UPLOADS}</p>' in page
    assert '<a href="/">Назад</a>' in page
    assert f'<p class="error-message">{RUSSIAN_LOGINS}</p>' in login_page.decode()


def test_only_posts_count(limited):
    _, site = limited
    for _ in range(10):
        assert site.request("GET", "/")[0] == 200
        assert site.request("GET", "/upload")[0] == 405
        assert site.request("GET", "/admin/login")[0] != 429


def test_admin_login_attempts_beyond_the_burst_get_429(limited):
    _, site = limited
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    attempts = [site.request("POST", "/admin/login", b"password=wrong", form)[0] for _ in range(4)]
    assert 429 not in attempts[:2]
    assert attempts[2:] == [429, 429]
    message = "too many login attempts from your address; try again in 60 s"
    status, headers, body = site.request(
        "POST", "/admin/login", b"password=wrong", {**form, "Accept": "application/json"}
    )
    assert status == 429 and headers["Content-Type"] == "application/json"
    assert headers["Retry-After"] == "60"
    assert json.loads(body) == {"error": message, "code": "rate_limited"}
    status, headers, body = site.request(
        "POST", "/admin/login", b"password=wrong", {**form, "Accept": BROWSER_ACCEPT}
    )
    assert status == 429 and headers["Content-Type"] == "text/html; charset=utf-8"
    assert headers["Retry-After"] == "60"
    assert f'<p class="error-message">{message}</p>' in body.decode()
    assert '<a href="/admin/login">Back</a>' in body.decode()
    status, headers, body = site.request("POST", "/admin/login", b"password=wrong", form)
    assert (status, headers["Retry-After"]) == (429, "60")
    assert body.decode() == f"error: {message}\n"
    # The account forms share the budget: the same address is refused there too.
    for path in ("/signin", "/signup"):
        status, _, body = site.request(
            "POST", path, b"username=a&password=wrong", {**form, "Accept": BROWSER_ACCEPT}
        )
        assert status == 429 and f'<a href="{path}">Back</a>' in body.decode()


@pytest.fixture(scope="module")
def paced(tmp_path_factory):
    # One upload every 2 s (so Retry-After is 2) beyond a burst of 1.
    yield from limited_stack(tmp_path_factory, UPLOAD_RATE_PER_MINUTE="30", UPLOAD_BURST="1")


def test_the_script_waits_out_a_429_and_sends_again(paced):
    stack, site = paced
    # Use the budget up: from the first 429, the next upload is let in up to 2 s later.
    for _ in range(5):
        if site.upload(images.png(), accept="*/*")[0] == 429:
            break
    else:
        pytest.fail("the limit never refused an upload")
    shot = run_script("-n", "-u", site.base, stdin=images.png((21, 20)))
    assert shot.returncode == 0, shot.stderr
    assert shot.stderr == (
        b"imagehost-upload: the server's upload limit: waiting 2 s, then sending again (1 of 5)\n"
    )
    link = shot.stdout.decode().strip()
    assert (stack.settings.images_dir / link.rsplit("/", 1)[1]).is_file()


class AlwaysLimited(BaseHTTPRequestHandler):
    """A server that refuses every upload with 429 (Retry-After: 0) and counts them."""

    posts = 0

    def do_POST(self):
        type(self).posts += 1
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(429)
        self.send_header("Retry-After", "0")
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        self.wfile.write(b"error: still too many\n")

    def log_message(self, *args):
        pass


def test_the_script_gives_up_after_a_bounded_number_of_429s():
    server = ThreadingHTTPServer(("127.0.0.1", 0), AlwaysLimited)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}"
        result = run_script("-n", "-u", url, stdin=images.png())
    finally:
        server.shutdown()
        server.server_close()
    assert AlwaysLimited.posts == 6  # the first try and five more
    assert result.returncode == 1 and result.stdout == b""
    lines = result.stderr.decode().splitlines()
    assert lines[-1] == "imagehost-upload: upload refused (429): still too many"
    assert lines[:-1] == [
        f"imagehost-upload: the server's upload limit: waiting 0 s, then sending again ({n} of 5)"
        for n in range(1, 6)
    ]
