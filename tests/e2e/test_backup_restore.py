"""Backups through the whole stack: every link comes back byte for byte after a restore, and
backups are reachable only by a signed-in admin, through the app."""

import json

import pytest
from pymongo import MongoClient

from imagehost.embedded import running_embedded_uri
from tests import images
from tests.cli import run_imagehost
from tests.stack import sign_in

pytestmark = pytest.mark.e2e


def records(stack) -> list[dict]:
    # The app's embedded server, found as the commands find it.
    uri = running_embedded_uri(stack.settings.db_dir)
    with MongoClient(uri) as client:
        return list(client[stack.settings.mongodb_db]["images"].find({}).sort("name"))


def test_backup_wipe_restore_and_every_link_serves_the_same_bytes(site, stack):
    links = []
    for data, name in ((images.jpeg((300, 200)), "a.jpg"), (images.png(mode="RGBA"), "b.png"),
                       (images.gif(frames=3), "c.gif")):  # fmt: skip
        status, _, body = site.upload(data, filename=name)
        assert status == 201
        links += [body["path"], body["thumbnail_url"].replace(site.base, "")]
    served = {link: site.request("GET", link) for link in links}
    assert all(status == 200 for status, _, _ in served.values())
    before = records(stack)

    done = run_imagehost(stack.env, "backup", timeout=120)
    assert done.returncode == 0, done.stderr
    backup = done.stdout.strip()

    with MongoClient(running_embedded_uri(stack.settings.db_dir)) as client:
        client[stack.settings.mongodb_db]["images"].delete_many({})
    for path in stack.settings.images_dir.iterdir():
        path.unlink()
    assert all(site.request("GET", link)[0] == 404 for link in links)

    done = run_imagehost(stack.env, "restore", backup, timeout=120)
    assert done.returncode == 0, done.stderr
    for link, (_, headers, data) in served.items():
        status, again_headers, again = site.request("GET", link)
        assert status == 200 and again == data, link
        assert again_headers["Content-Type"] == headers["Content-Type"]
    assert records(stack) == before


def test_backups_are_only_for_a_signed_in_admin_through_the_app(site, stack):
    done = run_imagehost(stack.env, "backup", timeout=120)
    assert done.returncode == 0, done.stderr
    name = done.stdout.strip().rsplit("/", 1)[1]
    for path in (f"/images/{name}", f"/images/../backups/{name}", f"/backups/{name}",
                 f"/static/../backups/{name}"):  # fmt: skip
        assert site.request("GET", path)[0] in (403, 404), path
    assert site.request("GET", f"/admin/backups/{name}")[0] == 401
    status, _, _ = site.request("POST", "/backup/", b"", {"Accept": "application/json"})
    assert status in (401, 403)

    cookies = sign_in(site)
    status, headers, data = site.request(
        "GET", f"/admin/backups/{name}", headers={"Cookie": cookies}
    )
    assert status == 200 and headers["Content-Disposition"] == f'attachment; filename="{name}"'
    assert data == (stack.settings.backup_dir / name).read_bytes()
    xsrf = cookies.split(";")[0].split("=", 1)[1]
    status, _, body = site.request(
        "POST", "/backup/", b"",
        {"Cookie": cookies, "X-XSRFToken": xsrf, "Accept": "application/json"},
    )  # fmt: skip
    assert status == 202 and json.loads(body)["state"] in ("running", "done")
