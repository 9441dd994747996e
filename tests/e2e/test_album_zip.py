"""The album zip through the real nginx: it streams (nginx does not collect the answer first,
so the app is still writing while a slow client has read little) and arrives whole."""

import http.client
import io
import re
import time
import zipfile
from http.cookies import SimpleCookie
from urllib.parse import urlencode

import pytest

from tests import images
from tests.images import multipart

pytestmark = pytest.mark.e2e

IMAGES, IMAGE_BYTES = 8, 4_000_000  # 32 MB: well over the socket buffers between the three


class Browser:
    """Cookies and the XSRF token of one visitor, over raw HTTP."""

    def __init__(self, site) -> None:
        self.site = site
        conn = http.client.HTTPConnection("127.0.0.1", site.port, timeout=60)
        try:
            conn.request("GET", "/", headers={"Accept": "text/html"})
            response = conn.getresponse()
            body = response.read()
            cookie = SimpleCookie()
            for header in response.headers.get_all("Set-Cookie"):
                cookie.load(header)
        finally:
            conn.close()
        self.cookie = "; ".join(f"{k}={m.value}" for k, m in cookie.items())
        self.xsrf = re.search(rb'name="_xsrf" value="([^"]+)"', body)[1].decode()

    def post(self, path: str, form: dict):
        headers = {"Cookie": self.cookie, "Content-Type": "application/x-www-form-urlencoded"}
        return self.site.request("POST", path, urlencode({**form, "_xsrf": self.xsrf}), headers)

    def upload(self, data: bytes, name: str, album: str) -> None:
        body, ctype = multipart([("file", name, data), ("album", None, album.encode())])
        headers = {"Cookie": self.cookie, "X-XSRFToken": self.xsrf, "Content-Type": ctype}
        status, _, answer = self.site.request("POST", "/upload", body, headers)
        assert status == 201, answer


def test_the_zip_streams_through_nginx_and_arrives_whole(stack, site):
    person = Browser(site)
    status, headers, _ = person.post("/albums", {"title": "Big"})
    assert status == 303
    album = headers["Location"].rsplit("/", 1)[1]
    sent = [images.noisy_jpeg(IMAGE_BYTES, width=1600 + i) for i in range(IMAGES)]
    for i, data in enumerate(sent):
        person.upload(data, f"big{i}.jpg", album)
    page = site.request("GET", f"/albums/{album}", headers={"Cookie": person.cookie})[2]
    share = re.search(rb"/a/([\w-]{16})", page)[1].decode()

    log = stack.settings.logs_dir / "app.log"
    conn = http.client.HTTPConnection("127.0.0.1", site.port, timeout=60)
    try:
        conn.request("GET", f"/a/{share}/zip")
        response = conn.getresponse()
        assert response.status == 200 and response.getheader("Content-Type") == "application/zip"
        assert response.getheader("Transfer-Encoding") == "chunked"  # no length: not built first
        assert response.getheader("X-Accel-Buffering") is None  # for nginx, not passed on
        start = response.read(64 * 1024)
        time.sleep(3)  # a slow reader: a buffering nginx would have taken all 32 MB meanwhile
        assert "album zip sent" not in log.read_text()
        data = start + response.read()
    finally:
        conn.close()
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert [archive.read(n) for n in archive.namelist()] == sent
    deadline = time.monotonic() + 10
    while "album zip sent" not in log.read_text() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert f"bytes={len(data)}" in log.read_text()
