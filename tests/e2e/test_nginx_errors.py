"""nginx's own errors (a request it cannot read, the app not answering) in the site's forms:
JSON with a code on the API, a page for browsers, text otherwise; English or Russian."""

import json
import signal
import socket

import pytest

from imagehost.refusal import CODES
from imagehost.web.openapi import openapi_document
from tests.stack import stack_env, start_stack

pytestmark = pytest.mark.e2e

BAD_REQUEST = {
    "en": "the request is malformed: the server could not read it",
    "ru": "запрос искажён: сервер не смог его прочитать",
}
UNAVAILABLE = {
    "en": "the site is not answering right now; please try again shortly",
    "ru": "сайт сейчас не отвечает; попробуйте ещё раз чуть позже",
}

DOCUMENT = openapi_document("http://127.0.0.1", 1024)


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """A stack of its own: one test stops its app."""
    with start_stack(stack_env(tmp_path_factory.mktemp("errors"), MONGODB_URI="")) as running:
        yield running


def raw(port: int, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send `request` as it is (http.client would not send it) and read the answer to the end."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
        conn.sendall(request)
        answer = b""
        while piece := conn.recv(65536):
            answer += piece
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines)
    return int(status_line.split()[1]), headers, body


def request(path: str, *headers: str, method: str = "POST") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: localhost", "Connection: close", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def documented(method: str, path: str, answer) -> None:
    """The OpenAPI document lists this answer, status and content type, for the operation."""
    status, headers, _ = answer
    responses = DOCUMENT["paths"][path][method]["responses"]
    assert str(status) in responses, f"{method} {path} does not list {status}"
    assert headers["Content-Type"].split(";")[0] in responses[str(status)]["content"]


def json_error(answer) -> dict:
    status, headers, body = answer
    assert headers["Content-Type"] == "application/json"
    assert "Accept-Language" in headers["Vary"]
    error = json.loads(body)
    assert set(error) == {"error", "code"} and error["code"] in CODES  # the Error schema
    return error


@pytest.mark.parametrize("language", ["en", "ru"])
@pytest.mark.parametrize("length", ["abc", "-1", "12, 13"])
def test_a_bad_content_length_on_the_api_gets_json_with_a_code(stack, length, language):
    answer = raw(
        stack.http_port,
        request("/api/v1/images", f"Content-Length: {length}", f"Accept-Language: {language}"),
    )
    assert answer[0] == 400
    assert json_error(answer) == {"error": BAD_REQUEST[language], "code": "malformed_request"}
    documented("post", "/api/v1/images", answer)


@pytest.mark.parametrize("language", ["en", "ru"])
def test_a_bad_request_on_the_page_s_upload_gets_the_form_it_asks_for(stack, language):
    def upload(accept: str):
        headers = (f"Accept: {accept}", f"Accept-Language: {language}", "Content-Length: x")
        return raw(stack.http_port, request("/upload", *headers))

    status, headers, body = upload("text/html,application/xhtml+xml,*/*;q=0.8")
    assert status == 400 and headers["Content-Type"] == "text/html; charset=utf-8"
    page = body.decode()
    title = {"en": "Error 400", "ru": "Ошибка 400"}[language]
    assert f'<html lang="{language}">' in page and f"<h1>{title}</h1>" in page
    assert f'<p class="error-message">{BAD_REQUEST[language]}</p>' in page
    status, headers, body = upload("*/*")
    assert status == 400 and headers["Content-Type"] == "text/plain; charset=utf-8"
    assert body.decode() == f"error: {BAD_REQUEST[language]}\n"
    answer = upload("application/json")
    assert json_error(answer)["code"] == "malformed_request"


def test_headers_too_large_and_an_unknown_transfer_encoding_get_json_on_the_api(stack):
    answer = raw(stack.http_port, request("/api/v1/images", "X-Big: " + "a" * 9000, method="GET"))
    assert answer[0] == 400  # nginx's 494, sent as a 400
    assert json_error(answer) == {"error": BAD_REQUEST["en"], "code": "malformed_request"}
    documented(
        "get",
        "/api/v1/me",
        raw(stack.http_port, request("/api/v1/me", "X-Big: " + "a" * 9000, method="GET")),
    )
    answer = raw(stack.http_port, request("/api/v1/images", "Transfer-Encoding: gzip"))
    assert answer[0] == 501 and json_error(answer)["code"] == "malformed_request"
    documented("post", "/api/v1/images", answer)


def test_a_body_without_a_length_is_no_body_not_a_411(stack):
    """Why the document leaves out the 411 of nginx's error_page: nginx never sends it."""
    status, headers, body = raw(stack.http_port, request("/api/v1/images") + b"not an image")
    assert status == 415 and json.loads(body)["code"] == "not_multipart"  # the app's answer


def test_a_request_line_nginx_cannot_read_gets_text_having_no_path(stack):
    """Neither path nor Accept is known: the text form, not nginx's HTML."""
    status, headers, body = raw(stack.http_port, b"GARBAGE\r\n\r\n")
    assert status == 400 and headers["Content-Type"] == "text/plain; charset=utf-8"
    assert body.decode() == f"error: {BAD_REQUEST['en']}\n"
    long_path = "/api/v1/images/" + "a" * 9000
    answer = raw(stack.http_port, request(long_path, "Accept: application/json", method="GET"))
    status, headers, body = answer
    assert status == 414 and headers["Content-Type"] == "text/plain; charset=utf-8"
    assert body.decode() == "error: the request's address is too long\n"
    documented("get", "/api/v1/images/{name}", answer)
    status, headers, body = raw(stack.http_port, b"GET /api/v1/me HTTP/1.1 junk\r\n\r\n")
    assert status == 400 and headers["Content-Type"] == "text/plain; charset=utf-8"
    documented("get", "/api/v1/me", (status, headers, body))


def test_the_app_s_own_errors_pass_through(stack):
    answer = raw(stack.http_port, request("/api/v1/images/AAAAAAAAAAAAAAAA.png", method="GET"))
    assert answer[0] == 404 and json_error(answer)["code"] == "not_found"


@pytest.mark.parametrize("language", ["en", "ru"])
def test_the_app_down_is_a_502_in_the_site_s_forms(stack, language):
    stack.app.send_signal(signal.SIGTERM)
    stack.app.wait(30)
    try:
        said = f"Accept-Language: {language}"
        answer = raw(
            stack.http_port, request("/api/v1/images/AAAAAAAAAAAAAAAA.png", said, method="GET")
        )
        assert answer[0] == 502
        assert json_error(answer) == {"error": UNAVAILABLE[language], "code": "app_unavailable"}
        documented("get", "/api/v1/images/{name}", answer)
        documented(
            "options", "/api/v1/me", raw(stack.http_port, request("/api/v1/me", method="OPTIONS"))
        )
        upload = request("/upload", said, "Accept: text/html", "Content-Length: 0")
        status, headers, body = raw(stack.http_port, upload)
        assert status == 502 and headers["Content-Type"] == "text/html; charset=utf-8"
        assert f'<p class="error-message">{UNAVAILABLE[language]}</p>' in body.decode()
    finally:
        stack.start_app()
