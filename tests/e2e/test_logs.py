"""Every log the stack writes (app.log, nginx's access and error logs) after a session full of
secrets: delete tokens, cookies, XSRF tokens, a session id, an invite, API tokens (good and
bad), a password."""

import http.client as httpclient
import json
import re
from http.cookies import SimpleCookie

import pytest

from imagehost.accounts.sessions import SESSION_COOKIE
from tests import images
from tests.images import multipart
from tests.stack import api_token, sign_in

pytestmark = pytest.mark.e2e
FORGED = "2020-01-01 00:00:00.000 +0000 | ERROR   | pid=1 | forged line"
LINE_START = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} [+-]\d{4} \| ")


def browser_session(site) -> tuple[dict, str]:
    """The cookies a browser holds after the first page, and the page's XSRF token."""
    conn = httpclient.HTTPConnection("127.0.0.1", site.port, timeout=30)
    try:
        conn.request("GET", "/", headers={"Accept": "text/html"})
        response = conn.getresponse()
        page = response.read().decode()
        jar = SimpleCookie()
        for value in response.headers.get_all("Set-Cookie") or []:
            jar.load(value)
    finally:
        conn.close()
    assert response.status == 200 and {"owner", "_xsrf"} <= set(jar)
    xsrf = re.search(r'name="_xsrf" value="([^"]+)"', page).group(1)
    return {key: morsel.value for key, morsel in jar.items()}, xsrf


def test_logs_hold_no_secrets_and_no_forged_lines(stack, site):
    cookies, xsrf = browser_session(site)
    cookie_header = "; ".join(f"{k}={v}" for k, v in cookies.items())
    admin = sign_in(site)
    session = admin.split(f"{SESSION_COOKIE}=", 1)[1]
    api = api_token(site, admin)
    bearer = "Bearer sk-live-SECRET-BEARER-0123456789"  # not a token: refused
    body, ctype = multipart(
        [("_xsrf", None, xsrf.encode()), ("file", f"a.png\n{FORGED}", images.png())]
    )
    status, _, payload = site.request(
        "POST", "/upload", body,
        {"Content-Type": ctype, "Accept": "application/json", "Cookie": cookie_header,
         "Authorization": bearer},
    )  # fmt: skip
    assert status == 401, payload
    status, _, payload = site.request(
        "POST", "/upload", body,
        {"Content-Type": ctype, "Accept": "application/json", "Cookie": cookie_header,
         "Authorization": f"Bearer {api}"},
    )  # fmt: skip
    assert status == 201, payload
    assert site.request("GET", "/api/v1/me", None, {"Authorization": f"Bearer {api}"})[0] == 200
    # An invite link, opened, and its page the referer of its stylesheet.
    admin_xsrf = admin.split(";")[0].split("=", 1)[1]
    _, _, made = site.request(
        "POST", "/admin/invites", f"_xsrf={admin_xsrf}".encode(),
        {"Content-Type": "application/x-www-form-urlencoded", "Cookie": admin,
         "Accept": "text/html"},
    )  # fmt: skip
    invite_link = re.search(r'id="invite-link"[^>]* value="([^"]+)"', made.decode()).group(1)
    invite = invite_link.rsplit("/", 1)[1]
    assert site.request("GET", invite_link.replace(site.base, ""))[0] == 200
    site.request("GET", "/static/css/site.css", headers={"Referer": invite_link})
    answer = json.loads(payload)
    delete_path = answer["delete_url"].replace(site.base, "")
    token = delete_path.rsplit("/", 1)[1]

    # The confirmation page, its stylesheet (with the page as referer, as an older browser
    # would send it), a refused delete (bad XSRF token), then the real one.
    page_status, page_headers, _ = site.request(
        "GET", delete_path, headers={"Accept": "text/html", "Cookie": cookie_header}
    )
    assert page_status == 200 and page_headers["Referrer-Policy"] == "no-referrer"
    site.request("GET", "/static/css/site.css", headers={"Referer": answer["delete_url"]})
    refused = site.request(
        "POST", delete_path, f"_xsrf=wrong{xsrf[5:]}".encode(),
        {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie_header},
    )  # fmt: skip
    assert refused[0] == 403
    deleted = site.request(
        "POST", delete_path, f"_xsrf={xsrf}".encode(),
        {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie_header,
         "Accept": "application/json"},
    )  # fmt: skip
    assert deleted[0] == 200
    password = "correct-horse-battery-staple-42"
    site.request(
        "POST", "/admin/login", f"password={password}&_xsrf={xsrf}".encode(),
        {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie_header},
    )  # fmt: skip

    logs = stack.settings.logs_dir
    app_log = (logs / "app.log").read_text()
    access_log = (logs / "nginx-access.log").read_text()
    error_log = (logs / "nginx-error.log").read_text()
    secrets = [token, xsrf, bearer, "SECRET-BEARER", password, *cookies.values(), api, session,
               invite]  # fmt: skip
    for name, text in (("app", app_log), ("access", access_log), ("error", error_log)):
        for secret in secrets:
            assert secret not in text, f"{secret!r} is in the {name} log"

    # What was logged instead: the actions, the token cut out of paths and referers.
    assert f"image deleted ip=127.0.0.1 name={answer['name']}" in app_log
    assert f"/delete/{answer['name']}/[token]" in access_log
    assert "/invite/[token]" in access_log and f'"{site.base}/invite/[token]"' in access_log
    assert f'"{site.base}/delete/{answer["name"]}/[token]"' in access_log
    # The file name's newline is escaped: every line is a real log line.
    assert "forged line" in app_log
    for line in app_log.splitlines():
        assert LINE_START.match(line), line
