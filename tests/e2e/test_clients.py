"""Every client path through the real nginx: the JSON API, ShareX's uploader, curl, the script."""

import json
import os
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest

from imagehost import ROOT
from imagehost.dev.devstack import free_port
from tests import images, sharex
from tests.e2e.upload_script import SCRIPT, run_script
from tests.stack import api_token, sign_in

pytestmark = pytest.mark.e2e

CURL = shutil.which("curl")


def path_of(site, url: str) -> str:
    assert url.startswith(site.base)
    return url[len(site.base) :]


# -- the JSON API --------------------------------------------------------------------------
def test_api_upload_read_delete(site, stack):
    data = images.png((90, 60))
    status, headers, body = site.upload(data, accept="*/*", path="/api/v1/images")
    assert status == 201 and headers["Content-Type"].startswith("application/json")
    created = json.loads(body)
    stored = (stack.settings.images_dir / created["name"]).read_bytes()
    assert site.request("GET", path_of(site, created["url"]))[2] == stored
    status, _, body = site.request("GET", f"/api/v1/images/{created['name']}")
    assert status == 200
    assert json.loads(body)["width"] == 90
    token = {"X-Delete-Token": created["delete_token"]}
    status, _, body = site.request("DELETE", f"/api/v1/images/{created['name']}", None, token)
    assert (status, json.loads(body)) == (200, {"deleted": created["name"]})
    assert site.request("GET", path_of(site, created["url"]))[0] == 404


def test_api_gets_json_from_nginx_for_a_body_over_its_limit(site):
    status, headers, body = site.upload(
        os.urandom(40 * 1024 * 1024), accept="*/*", path="/api/v1/images"
    )
    assert status == 413
    assert headers["Content-Type"] == "application/json"
    assert "too large" in json.loads(body)["error"]


def test_api_errors_are_json_through_nginx(site):
    status, headers, body = site.upload(b"plain text", accept="*/*", path="/api/v1/images")
    assert status == 415 and "JPEG, PNG or GIF" in json.loads(body)["error"]
    status, headers, body = site.request("GET", "/api/v1/nothing", None, {"Accept": "text/html"})
    assert status == 404 and headers["Content-Type"].startswith("application/json")


# -- ShareX --------------------------------------------------------------------------------
def sxcu(site) -> dict:
    status, headers, body = site.request("GET", "/imagehost.sxcu")
    assert status == 200 and headers["Content-Disposition"].startswith("attachment")
    return json.loads(body)


def sharex_upload(site, config: dict, data: bytes, filename: str):
    method, url, body, headers = sharex.upload_request(config, data, filename)
    return site.request(method, path_of(site, url), body, headers)


def test_sharex_uploader_works_as_downloaded(site, stack):
    config = sxcu(site)
    assert config["RequestURL"] == f"{site.base}/api/v1/images"
    data = images.jpeg((200, 100))
    status, _, body = sharex_upload(site, config, data, "Screenshot_2026.jpg")
    assert status == 201
    link = sharex.resolve(config["URL"], body)
    status, headers, served = site.request("GET", path_of(site, link))
    assert status == 200 and headers["Content-Type"] == "image/jpeg"
    assert served == (stack.settings.images_dir / link.rsplit("/", 1)[1]).read_bytes()
    thumb = sharex.resolve(config["ThumbnailURL"], body)
    assert site.request("GET", path_of(site, thumb))[0] == 200
    # ShareX opens the deletion URL in the browser: a page that asks, then deletes.
    deletion = path_of(site, sharex.resolve(config["DeletionURL"], body))
    status, _, page = site.request("GET", deletion, None, {"Accept": "text/html"})
    assert status == 200 and b"Delete" in page
    assert site.request("POST", deletion, b"", {"Accept": "text/html"})[0] == 200
    assert site.request("GET", path_of(site, link))[0] == 404


@pytest.mark.parametrize(
    ("data", "status", "words"),
    [
        (b"not an image", 415, "JPEG, PNG or GIF"),
        (os.urandom(40 * 1024 * 1024), 413, "too large"),  # refused by nginx itself
    ],
    ids=["text", "over-nginx-limit"],
)
def test_sharex_error_message_reads_the_reason(site, data, status, words):
    config = sxcu(site)
    got, _, body = sharex_upload(site, config, data, "x.png")
    assert got == status
    assert words in sharex.resolve(config["ErrorMessage"], body)


# -- curl, as the README shows it ------------------------------------------------------------
def curl(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    assert CURL, "curl is needed by these tests (make test installs it)"
    return subprocess.run(
        [CURL, "-sS", *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=True
    )


def test_readme_curl_commands(site, tmp_path):
    (tmp_path / "cat.png").write_bytes(images.png())
    readme = (ROOT / "README.md").read_text()
    for command in (
        "curl -F file=@cat.png http://localhost:8080/upload",
        "curl -F file=@cat.png -H 'Accept: application/json' http://localhost:8080/upload",
        "curl -F file=@cat.png http://localhost:8080/api/v1/images",
    ):
        assert command in readme
    link = curl("-F", "file=@cat.png", f"{site.base}/upload", cwd=tmp_path).stdout
    assert link.startswith(f"{site.base}/images/") and link.endswith(".png\n")
    answer = curl(
        "-F", "file=@cat.png", "-H", "Accept: application/json", f"{site.base}/upload", cwd=tmp_path
    ).stdout
    assert json.loads(answer)["format"] == "png"
    created = json.loads(
        curl("-F", "file=@cat.png", f"{site.base}/api/v1/images", cwd=tmp_path).stdout
    )
    token = f"X-Delete-Token: {created['delete_token']}"
    assert "curl -X DELETE -H 'X-Delete-Token: " in readme
    deleted = curl(
        "-X", "DELETE", "-H", token, f"{site.base}/api/v1/images/{created['name']}", cwd=tmp_path
    ).stdout
    assert json.loads(deleted) == {"deleted": created["name"]}


# -- the imagehost-upload script ------------------------------------------------------------
def fake_tool(folder: Path, name: str) -> Path:
    """A stand-in for wl-copy/xclip that records its arguments and what it was given."""
    folder.mkdir(exist_ok=True)
    tool = folder / name
    tool.write_text(
        textwrap.dedent(f"""\
            #!/bin/sh
            echo "$*" > "{folder}/{name}.args"
            cat > "{folder}/{name}.got"
        """)
    )
    tool.chmod(0o755)
    return tool


def test_script_uploads_a_file_and_prints_the_link(site, stack, tmp_path):
    picture = tmp_path / "my shot; 1.png"
    picture.write_bytes(images.png((33, 22)))
    result = run_script(str(picture), env={"IMAGEHOST_URL": site.base + "/"})
    assert result.returncode == 0, result.stderr
    link = result.stdout.decode().strip()
    assert result.stdout.decode() == link + "\n"
    status, _, served = site.request("GET", path_of(site, link))
    assert status == 200
    assert served == (stack.settings.images_dir / link.rsplit("/", 1)[1]).read_bytes()


def test_script_uploads_stdin_like_flameshot_raw(site, tmp_path):
    result = run_script("-u", site.base, stdin=images.gif(frames=2))
    assert result.returncode == 0, result.stderr
    link = result.stdout.decode().strip()
    assert link.endswith(".gif")
    assert site.request("GET", path_of(site, link))[0] == 200


@pytest.mark.parametrize(
    ("tool", "display", "args"),
    [
        ("wl-copy", {"WAYLAND_DISPLAY": "wayland-0"}, ""),
        ("xclip", {"DISPLAY": ":0"}, "-selection clipboard"),
    ],
)
def test_script_copies_the_link_to_the_clipboard(site, tmp_path, tool, display, args):
    bin_dir = tmp_path / "bin"
    fake_tool(bin_dir, tool)
    result = run_script("-u", site.base, stdin=images.png(), env=display, path_first=bin_dir)
    assert result.returncode == 0, result.stderr
    assert (bin_dir / f"{tool}.got").read_text() == result.stdout.decode().strip()
    assert (bin_dir / f"{tool}.args").read_text().strip() == args


def test_script_with_n_leaves_the_clipboard_alone(site, tmp_path):
    bin_dir = tmp_path / "bin"
    fake_tool(bin_dir, "wl-copy")
    env = {"WAYLAND_DISPLAY": "wayland-0"}
    result = run_script("-n", "-u", site.base, stdin=images.png(), env=env, path_first=bin_dir)
    assert result.returncode == 0, result.stderr
    assert not (bin_dir / "wl-copy.got").exists()


@pytest.mark.parametrize(
    ("stdin", "words"),
    [
        (b"just text", b"upload refused (415): not a supported image"),
        (b"", b"nothing to upload"),
        (os.urandom(40 * 1024 * 1024), b"upload refused (413): the file is too large"),
    ],
    ids=["text", "empty", "over-nginx-limit"],
)
def test_script_says_why_it_failed(site, stdin, words):
    result = run_script("-u", site.base, stdin=stdin)
    assert result.returncode == 1
    assert result.stdout == b""
    assert words in result.stderr


def my_image_names(site, token: str) -> list[str]:
    status, _, body = site.request(
        "GET", "/api/v1/me/images?limit=100", None, {"Authorization": f"Bearer {token}"}
    )
    assert status == 200
    return [image["name"] for image in json.loads(body)["images"]]


def test_script_with_a_token_uploads_into_the_account_and_hides_it_from_ps(site, tmp_path):
    token = api_token(site, sign_in(site), "script")
    result = run_script("-n", "-u", site.base, stdin=images.png(), env={"IMAGEHOST_TOKEN": token})
    assert result.returncode == 0, result.stderr
    name = result.stdout.decode().strip().rsplit("/", 1)[1]
    assert name in my_image_names(site, token)
    assert token.encode() not in result.stderr
    # The token reaches curl in a file, never among its arguments.
    assert '$IMAGEHOST_TOKEN" >>' in SCRIPT.read_text()
    assert 'Bearer $IMAGEHOST_TOKEN"' not in SCRIPT.read_text().split("curl -sS", 1)[1]
    bad = run_script("-n", "-u", site.base, stdin=images.png(), env={"IMAGEHOST_TOKEN": "ih_x"})
    assert bad.returncode == 1 and b"upload refused (401)" in bad.stderr


def test_readme_curl_with_a_token(site, tmp_path):
    (tmp_path / "cat.png").write_bytes(images.png())
    readme = (ROOT / "README.md").read_text()
    command = (
        'curl -H "Authorization: Bearer $IMAGEHOST_TOKEN" -F file=@cat.png '
        "http://localhost:8080/upload"
    )
    assert command in readme
    token = api_token(site, sign_in(site), "curl")
    link = curl(
        "-H", f"Authorization: Bearer {token}", "-F", "file=@cat.png", f"{site.base}/upload",
        cwd=tmp_path,
    ).stdout  # fmt: skip
    assert link.rsplit("/", 1)[1].strip() in my_image_names(site, token)


def test_a_signed_in_users_sharex_uploader_uploads_into_the_account(site):
    cookies = sign_in(site)
    xsrf = cookies.split(";")[0].split("=", 1)[1]
    status, headers, body = site.request(
        "POST", "/account/imagehost.sxcu", f"_xsrf={xsrf}".encode(),
        {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookies},
    )  # fmt: skip
    assert status == 200 and headers["Content-Disposition"].startswith("attachment")
    config = json.loads(body)
    token = config["Headers"]["Authorization"].removeprefix("Bearer ")
    status, _, body = sharex_upload(site, config, images.png(), "shot.png")
    assert status == 201
    link = sharex.resolve(config["URL"], body)
    assert link.rsplit("/", 1)[1] in my_image_names(site, token)


def test_script_usage_errors(tmp_path):
    assert run_script(str(tmp_path / "x.png")).returncode == 2  # no server given
    unreadable = run_script("-u", "http://127.0.0.1:9", str(tmp_path / "missing.png"))
    assert unreadable.returncode == 1 and b"cannot read" in unreadable.stderr
    down = run_script("-u", f"http://127.0.0.1:{free_port()}", stdin=images.png())
    assert down.returncode == 1 and b"could not reach" in down.stderr
