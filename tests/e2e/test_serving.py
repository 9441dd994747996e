"""What the stack sends back, through nginx: pages under a strict CSP, images only as images."""

import re
from html.parser import HTMLParser

import pytest

from tests import images

pytestmark = pytest.mark.e2e


class InlineCode(HTMLParser):
    """Collects what a strict CSP would block: inline scripts, handlers, styles, js: URLs."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        if tag == "script":
            self._in_script = "src" not in values
        for name, value in attrs:
            if name.startswith("on") or name == "style":
                self.found.append(f"<{tag} {name}=...>")
            if value and value.strip().lower().startswith("javascript:"):
                self.found.append(f"<{tag} {name}={value}>")

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.found.append(f"inline script: {data.strip()[:60]}")


def pages(site) -> dict[str, tuple[int, dict, bytes]]:
    html = {"Accept": "text/html"}
    _, _, answer = site.upload(images.png(), "<b>x</b>.png")
    delete_path = answer["delete_url"].replace(site.base, "")
    return {
        "index": site.request("GET", "/", headers=html),
        "gallery": site.request("GET", "/gallery", headers=html),
        "delete confirmation": site.request("GET", delete_path, headers=html),
        "not found": site.request("GET", "/no/such/page", headers=html),
        "upload answer": site.upload(images.png(), "<b>x</b>.png", accept="text/html"),
    }


def test_pages_carry_a_strict_csp_and_no_inline_code(site):
    for label, (status, headers, body) in pages(site).items():
        assert status in (200, 201, 404), label
        csp = headers["Content-Security-Policy"]
        directives = dict(d.strip().split(" ", 1) for d in csp.split(";") if " " in d.strip())
        assert directives["script-src"] == "'self'", label
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, label
        assert directives["frame-ancestors"] == "'none'" and directives["object-src"] == "'none'"
        assert headers["X-Frame-Options"] == "DENY", label
        assert headers["X-Content-Type-Options"] == "nosniff", label
        assert headers["Referrer-Policy"] in ("same-origin", "no-referrer"), label
        assert headers["Content-Type"].startswith("text/html"), label
        parser = InlineCode()
        parser.feed(body.decode())
        assert parser.found == [], (label, parser.found)
        assert "<b>x</b>" not in body.decode(), label


def test_only_generated_names_of_the_three_formats_are_served(site, stack):
    folder = stack.settings.images_dir
    planted = {
        "AAAAAAAAAAAAAAAA.svg": b"<svg xmlns='http://www.w3.org/2000/svg'><script>1</script></svg>",
        "AAAAAAAAAAAAAAAA.html": b"<script>alert(1)</script>",
        "AAAAAAAAAAAAAAAA.php": b"<?php phpinfo(); ?>",
        ".tmp-0000000000000000": b"half",
        "notes.txt": b"private",
    }
    for name, data in planted.items():
        (folder / name).write_bytes(data)
    try:
        for name in planted:
            status, headers, body = site.request("GET", f"/images/{name}")
            assert status == 404, name
            assert not body.startswith(planted[name][:5]), name
        status, _, body = site.request("GET", "/images/")
        assert status == 404 and b"AAAAAAAAAAAAAAAA" not in body
    finally:
        for name in planted:
            (folder / name).unlink()


def test_even_html_under_an_image_name_is_served_as_an_inert_image(site, stack):
    # Nothing can put such a file there through an upload; should one appear anyway, the
    # browser is told it is a PNG, not to sniff, and to run nothing.
    name = "HHHHHHHHHHHHHHHH.png"
    (stack.settings.images_dir / name).write_bytes(b"<html><script>alert(1)</script></html>")
    try:
        status, headers, _ = site.request("GET", f"/images/{name}")
        assert status == 200
        assert headers["Content-Type"] == "image/png"
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Content-Security-Policy"] == "sandbox; default-src 'none'"
        assert headers["Content-Disposition"] == "inline"
    finally:
        (stack.settings.images_dir / name).unlink()


@pytest.mark.parametrize("path", ["/static/", "/static/js/", "/static/css/"])
def test_no_directory_listing(site, path):
    status, _, body = site.request("GET", path)
    assert status in (403, 404)
    assert not re.search(rb"site\.css|htmx|Index of", body)


def test_static_files_are_not_sniffed(site):
    status, headers, _ = site.request("GET", "/static/js/upload.js")
    assert status == 200 and headers["Content-Type"].startswith("text/javascript")
    assert headers["X-Content-Type-Options"] == "nosniff"


def test_nginx_hides_its_version(site):
    _, headers, _ = site.request("GET", "/no/such/page")
    assert headers["Server"] == "nginx"
