"""Two replicas of the app (separate VAR_DIRs, each behind its nginx) on one database and one
bucket (a real Ceph RGW): uploads through either are served by both, a sign-in on one holds on
the other, one backup runs at a time, and killing the replica that holds the lease frees it."""

import asyncio
import json
import os
import signal
import time
import uuid

import pytest
from pymongo import MongoClient

from imagehost.s3storage import S3Storage
from tests import images
from tests.backups import filler_record
from tests.cli import run_imagehost
from tests.stack import Http, sign_in, stack_env, start_stack

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def replicas(tmp_path_factory, rgw, mongo_uri):
    config = rgw.config(f"replicas-{uuid.uuid4().hex[:8]}")
    shared = {
        "MONGODB_URI": mongo_uri,
        "MONGODB_DB": f"e2e_{uuid.uuid4().hex[:12]}",
        "WORKERS": "1",  # the app's pid is the lease holder's
        **rgw.env(config),
    }
    stacks = []
    try:
        for name in ("a", "b"):
            env = stack_env(tmp_path_factory.mktemp(f"replica-{name}"), **shared)
            if name == "a":
                setup = run_imagehost(env, "s3-setup", "--reader-ip", "127.0.0.1/32")
                assert setup.returncode == 0, setup.stderr
            stacks.append(start_stack(env).start())
        yield stacks, config, shared
    finally:
        for stack in stacks:
            stack.stop()


def test_an_upload_through_either_replica_is_served_by_both(replicas):
    stacks, _, _ = replicas
    sites = [Http(stack.http_port) for stack in stacks]
    for site in sites:
        data = images.png(size=(20 + sites.index(site), 20))
        status, _, body = site.upload(data)
        assert status == 201
        for other in sites:
            status, _, served = other.request("GET", body["path"])
            assert status == 200 and served == data
            assert other.request("GET", f"/api/v1/images/{body['name']}")[0] == 200


def test_a_sign_in_on_one_replica_holds_on_the_other(replicas):
    stacks, _, _ = replicas
    cookie = sign_in(Http(stacks[0].http_port))
    status, _, _ = Http(stacks[1].http_port).request("GET", "/admin", headers={"Cookie": cookie})
    assert status == 200


def seed(config, shared, count: int, size: int) -> None:
    """`count` records whose image and thumbnail are in the bucket (set-up, not the test)."""
    storage = S3Storage(config)
    docs = []

    async def put_all():
        for index in range(count):
            record = filler_record(index, size)
            await storage.put(record.name, os.urandom(size))
            await storage.put(record.thumbnail, os.urandom(1000))
            docs.append(record.to_document())

    asyncio.run(put_all())
    with MongoClient(shared["MONGODB_URI"]) as client:
        client[shared["MONGODB_DB"]]["images"].insert_many(docs)


def lease(shared) -> dict | None:
    with MongoClient(shared["MONGODB_URI"]) as client:
        return client[shared["MONGODB_DB"]]["leases"].find_one({"_id": "backup"})


def backup_state(site, cookie: str, method: str = "GET") -> dict:
    headers = {"Cookie": cookie, "Accept": "application/json"}
    if method == "POST":
        headers["X-XSRFToken"] = cookie.split("_xsrf=")[1].split(";")[0]
    status, _, body = site.request(method, "/backup/", b"" if method == "POST" else None, headers)
    assert status in (200, 202), body
    return json.loads(body)


def test_one_backup_at_a_time_and_killing_its_holder_frees_the_lease(replicas):
    stacks, config, shared = replicas
    seed(config, shared, count=40, size=1024 * 1024)
    a, b = (Http(stack.http_port) for stack in stacks)
    cookie = sign_in(a)

    assert backup_state(a, cookie, "POST")["state"] == "running"
    holder = stacks[0].app
    os.kill(holder.pid, signal.SIGSTOP)  # frozen mid-backup: alive, holding the lease
    try:
        assert lease(shared)["pid"] == holder.pid
        assert backup_state(b, cookie, "POST")["state"] == "running"  # A's run, not a new one
        assert lease(shared)["pid"] == holder.pid
        assert not list(stacks[1].settings.backup_dir.glob(".partial-*"))
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()

    started = backup_state(b, cookie, "POST")
    assert started["state"] == "running" and started["pid"] == stacks[1].app.pid
    deadline = time.monotonic() + 120
    while (state := backup_state(b, cookie))["state"] == "running":
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert state["state"] == "done", state
    assert len(list(stacks[1].settings.backup_dir.glob("imagehost-*.tar"))) == 1
    assert list(stacks[0].settings.backup_dir.glob("imagehost-*.tar")) == []
    assert lease(shared) is None
