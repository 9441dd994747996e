"""Faults caused for real on the running stack: database killed, disk full, app killed, SIGTERM,
and 200 uploads at once. Whatever happens, no partial file, no orphan file, no lost answer."""

import http.client as httpclient
import io
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from PIL import Image

from imagehost.dev.devstack import free_port
from imagehost.embedded import EmbeddedMongo
from imagehost.images.check import decode_image
from imagehost.settings import prepare_folders
from imagehost.storage import NAME_PATTERN
from tests import images
from tests.cli import run_imagehost
from tests.images import multipart
from tests.stack import Http, Records, stack_env, start_stack

pytestmark = pytest.mark.e2e
LIMIT = 5 * 1024 * 1024


def distinct_png(index: int, size: int = 32) -> bytes:
    return images.encode(Image.new("RGB", (size, size), (index % 256, index // 256, 77)), "PNG")


def image_files(stack) -> list[Path]:
    return [p for p in stack.settings.images_dir.iterdir() if NAME_PATTERN.match(p.name)]


def temp_files(stack) -> list[Path]:
    return [p for p in stack.settings.images_dir.iterdir() if p.name.startswith(".tmp-")]


def eventually(predicate, timeout: float = 15.0, step: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"not true within {timeout} s")


def crash(mongo: EmbeddedMongo) -> None:
    """Stop the database at once, as a crash would."""
    mongo.process.kill()
    mongo.process.wait()


def keep_uploading(site, threads: int, until, then, stop, make=distinct_png) -> list:
    """Upload from `threads` threads without pause; call `then()` once `until(answers)` holds
    (so uploads are in flight at that moment), and end when `stop(answers)` holds."""
    answers: list = []
    finished = threading.Event()

    def uploader(first: int) -> None:
        for index in range(first, first + 1000):
            if finished.is_set():
                return
            answers.append(site.upload(make(index), f"{index}.jpg"))

    with ThreadPoolExecutor(threads) as pool:
        futures = [pool.submit(uploader, k * 1000) for k in range(threads)]
        try:
            eventually(lambda: until(list(answers)))
            then()
            eventually(lambda: stop(list(answers)))
        finally:
            finished.set()
        for future in futures:
            future.result()
    return answers


@pytest.fixture
def own_db_stack(tmp_path, mongo_uri):
    """A function-scoped stack on the session database; yields (stack, site, records)."""
    db = f"fault_{uuid.uuid4().hex[:12]}"
    env = stack_env(tmp_path / "var", MONGODB_URI=mongo_uri, MONGODB_DB=db)
    with start_stack(env) as stack:
        records = Records(mongo_uri, db)
        yield stack, Http(stack.http_port), records
        records.close()


# -- the database stops ---------------------------------------------------------------------


def test_database_killed_during_uploads_then_back_without_an_app_restart(tmp_path):
    mongo = EmbeddedMongo(tmp_path / "db", port=free_port())
    mongo.start()
    env = stack_env(tmp_path / "var", MONGODB_URI=mongo.uri, DB_TIMEOUT_MS="1000")
    try:
        with start_stack(env) as stack:
            site = Http(stack.http_port)
            app_pid = stack.app.pid
            answers = keep_uploading(
                site, threads=4, until=lambda done: len(done) >= 8, then=lambda: crash(mongo),
                stop=lambda done: sum(status == 503 for status, _, _ in done) >= 4,
            )  # fmt: skip
            statuses = [status for status, _, _ in answers]
            assert set(statuses) <= {201, 503}, statuses
            accepted = {body["name"] for status, _, body in answers if status == 201}

            status, headers, body = site.upload(images.png(), accept="application/json")
            assert status == 503 and headers["Content-Type"] == "application/json"
            assert json.loads(body)["error"] == (
                "the database is unavailable; nothing was stored, please try again shortly"
            )
            status, _, body = site.upload(images.png(), accept="*/*")
            assert status == 503 and b"database is unavailable" in body
            # Files are written before the record and removed when it fails: none is left over.
            on_disk = {p.name for p in image_files(stack) if ".thumb." not in p.name}
            assert on_disk == accepted
            assert temp_files(stack) == []

            mongo.start()  # same port, same folder
            status, _, body = eventually(
                lambda: (answer := site.upload(distinct_png(999)))[0] == 201 and answer
            )
            assert stack.app.pid == app_pid and stack.app.poll() is None
            assert json.loads(site.request("GET", "/healthz")[2])["database"] == "ok"
            for name in accepted | {body["name"]}:
                assert site.request("GET", f"/images/{name}")[0] == 200

            # A record whose insert the dead server committed but never acknowledged would
            # have no files; the check finds it and --fix removes it.
            stack.app.send_signal(signal.SIGTERM)
            assert stack.app.wait(20) == 0
            result = run_imagehost(stack.env, "check", "--fix", "--grace", "0")
            assert result.returncode == 0, result.stdout + result.stderr
            assert "0 files without a record" in result.stdout
            assert "0 leftover temp files" in result.stdout
    finally:
        mongo.stop()


# -- the disk fills up ----------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path):
    """A real 1 MiB tmpfs. Mounting needs root (as CI has): without it the test fails loudly."""
    mount_point = tmp_path / "small-disk"
    mount_point.mkdir()
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m,mode=0755", "tmpfs", str(mount_point)],
        capture_output=True, text=True,
    )  # fmt: skip
    if result.returncode != 0:
        pytest.fail(
            "the disk-full test mounts a 1 MiB tmpfs and needs root (CI runs as root): "
            f"mount said {result.stderr.strip() or result.returncode}"
        )
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def test_disk_full_is_507_and_leaves_no_partial_file(tmp_path, mongo_uri, small_disk):
    db = f"disk_{uuid.uuid4().hex[:12]}"
    env = stack_env(
        tmp_path / "var", MONGODB_URI=mongo_uri, MONGODB_DB=db, IMAGES_DIR=str(small_disk)
    )
    photos = [images.noisy_jpeg(150_000, width=400) for _ in range(12)]
    with start_stack(env) as stack:
        site = Http(stack.http_port)
        records = Records(mongo_uri, db)
        answers = [site.upload(photo, "photo.jpg") for photo in photos]
        statuses = [status for status, _, _ in answers]
        assert statuses[0] == 201 and 507 in statuses, statuses
        assert set(statuses) <= {201, 507}
        status, headers, body = site.upload(photos[0], "photo.jpg")
        assert status == 507
        assert json.loads(body)["error"] == "the server's image storage is full; nothing was stored"

        # Every file there is whole and has its record; no temp file is left.
        accepted = [body for status, _, body in answers if status == 201]
        assert records.count() == len(accepted)
        assert temp_files(stack) == []
        for body in accepted:
            record = records.get(body["name"])
            stored = (small_disk / body["name"]).read_bytes()
            assert len(stored) == record["size"]
            assert (small_disk / record["thumbnail"]).exists()
        assert len(image_files(stack)) == 2 * len(accepted)

        # Deleting frees room, and uploads work again.
        for body in accepted[:2]:
            path = body["delete_url"].replace(site.base, "")
            assert site.request("POST", path, b"", {"Accept": "application/json"})[0] == 200
        status, _, _ = site.upload(photos[0], "photo.jpg")
        assert status == 201
        records.close()


# -- the app is killed ----------------------------------------------------------------------


def test_app_killed_mid_uploads_then_check_reports_and_fixes(own_db_stack):
    stack, site, records = own_db_stack
    photos = [images.noisy_jpeg(900_000) for _ in range(4)]
    workers = child_pids(stack.app.pid)
    answers = keep_uploading(
        site, threads=8, until=lambda done: len(done) >= 4,
        then=lambda: stack.app.send_signal(signal.SIGKILL),
        stop=lambda done: sum(status == 502 for status, _, _ in done) >= 8,
        make=lambda index: photos[index % 4],
    )  # fmt: skip
    stack.app.wait()
    # Its workers stop with it (on their own SIGTERM): until they are gone, one could still be
    # finishing an upload while the files are looked at, or hold the port the restart binds.
    eventually(lambda: all(_gone(pid) for pid in workers), timeout=30)
    statuses = [status for status, _, _ in answers]
    assert set(statuses) <= {201, 502}, statuses
    accepted = [body for status, _, body in answers if status == 201]

    # No partial file is visible: every file under a served name is whole, every answered
    # upload is there, and temp files (if any) are never served.
    for path in image_files(stack):
        decode_image(path.read_bytes(), max_bytes=LIMIT, max_pixels=50_000_000)[1].close()
    for body in accepted:
        assert records.get(body["name"]) is not None
    for path in temp_files(stack):
        assert site.request("GET", f"/images/{path.name}")[0] == 404

    # Damage of each kind the check knows, on top of whatever the kill left.
    folder = stack.settings.images_dir
    orphan = "OrphanOrphan0001.jpg"
    (folder / orphan).write_bytes(photos[0])
    (folder / ".tmp-leftover0001").write_bytes(photos[0][:1000])
    lost = accepted[0]["name"]
    (folder / lost).unlink()

    stack.start_app()
    log = (stack.settings.logs_dir / "app.log").read_text()
    startup = [line for line in log.splitlines() if "consistency check:" in line][-1]
    assert "WARNING" in startup and "check --fix" in startup
    assert orphan in startup and lost in startup and ".tmp-leftover0001" in startup
    stack.app.send_signal(signal.SIGTERM)
    assert stack.app.wait(20) == 0

    report = run_imagehost(stack.env, "check", "--grace", "0")
    assert report.returncode == 1
    assert f"file without a record: {orphan}" in report.stdout
    assert f"record without its image: {lost}" in report.stdout
    assert "leftover temp file: .tmp-leftover0001" in report.stdout
    fixed = run_imagehost(stack.env, "check", "--fix", "--grace", "0")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert "after the repair:" in fixed.stdout and "0 files without a record" in fixed.stdout
    assert run_imagehost(stack.env, "check", "--grace", "0").returncode == 0

    stack.start_app()
    assert records.get(lost) is None
    files = image_files(stack)
    assert records.count() * 2 == len(files) and temp_files(stack) == []
    for body in accepted[1:]:
        status, _, served = site.request("GET", body["path"])
        assert status == 200 and served == (folder / body["name"]).read_bytes()
    log = (stack.settings.logs_dir / "app.log").read_text()
    assert "| INFO    |" in [line for line in log.splitlines() if "consistency check:" in line][-1]


def child_pids(pid: int) -> list[int]:
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            children.append(int(stat.parent.name))
    return children


def test_the_embedded_database_does_not_outlive_a_killed_app(tmp_path):
    env = stack_env(tmp_path / "var", MONGODB_URI="")
    with start_stack(env) as stack:
        # The database, and with WORKERS > 1 the worker processes: none may outlive the app.
        children = child_pids(stack.app.pid)
        assert [pid for pid in children if b"nx_27017" in _cmdline(pid)], children
        workers = stack.settings.workers if stack.settings.workers > 1 else 0
        assert len(children) == 1 + workers, f"the app's children: {children}"
        stack.app.send_signal(signal.SIGKILL)
        stack.app.wait()
        try:
            # nx-27017 takes about 2 s to stop on SIGTERM; more on a busy machine.
            eventually(lambda: all(_gone(pid) for pid in children), timeout=30)
        finally:
            for pid in children:
                if not _gone(pid):
                    os.kill(pid, signal.SIGKILL)  # ours: leave nothing behind
        stack.start_app()
        assert Http(stack.http_port).upload(images.png())[0] == 201


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    return state == "Z"


# -- SIGTERM --------------------------------------------------------------------------------


def test_sigterm_finishes_the_upload_in_flight_refuses_new_ones_and_exits_0(own_db_stack):
    stack, _, records = own_db_stack
    body, ctype = multipart([("file", "slow.jpg", images.jpeg((300, 200)))])
    sock = socket.create_connection(("127.0.0.1", stack.app_port), timeout=30)
    head = (
        f"POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {ctype}\r\n"
        f"Content-Length: {len(body)}\r\nAccept: application/json\r\n\r\n"
    )
    half = len(body) // 2
    sock.sendall(head.encode() + body[:half])
    time.sleep(1.0)  # the app has read the headers and started the request
    stack.app.send_signal(signal.SIGTERM)

    def refused() -> bool:
        try:
            socket.create_connection(("127.0.0.1", stack.app_port), timeout=1).close()
        except ConnectionRefusedError:
            return True
        return False

    eventually(refused, timeout=5)
    assert stack.app.poll() is None  # still finishing the upload
    sock.sendall(body[half:])
    response = httpclient.HTTPResponse(sock)
    response.begin()
    answer = json.loads(response.read())
    sock.close()
    assert response.status == 201
    assert stack.app.wait(20) == 0
    assert records.get(answer["name"]) is not None
    assert (stack.settings.images_dir / answer["name"]).exists()
    log = (stack.settings.logs_dir / "app.log").read_text()
    assert "stopping: no new requests, finishing those in flight" in log
    assert "| stopped" in log


def test_sigterm_while_the_start_up_check_waits_for_the_database_stops_the_app_at_once(tmp_path):
    # Nothing listens on the database's port: the start-up check waits for it (30 s).
    env = stack_env(
        tmp_path / "var", MONGODB_URI=f"mongodb://127.0.0.1:{free_port()}/", DB_TIMEOUT_MS="300"
    )
    stack = start_stack(env)
    prepare_folders(stack.settings)
    app = subprocess.Popen(
        stack.app_command, env=stack.env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    log = stack.settings.logs_dir / "app.log"
    try:
        eventually(lambda: log.exists() and "database not reachable yet" in log.read_text(), 30)
        app.send_signal(signal.SIGTERM)
        assert app.wait(15) == 0
        # Nothing of it is left (its start-up check's process held the port, waiting forever).
        eventually(lambda: not _group_alive(app.pid), timeout=10)
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", stack.app_port))
    finally:
        if _group_alive(app.pid):
            os.killpg(app.pid, signal.SIGKILL)
        app.wait()


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return any(
        not _gone(int(stat.parent.name))
        for stat in Path("/proc").glob("[0-9]*/stat")
        if _pgid(stat) == pgid
    )


def _pgid(stat: Path) -> int | None:
    try:
        return int(stat.read_text().rsplit(")", 1)[1].split()[2])
    except (OSError, IndexError, ValueError):
        return None


# -- 200 at once ----------------------------------------------------------------------------


def test_200_concurrent_uploads_through_nginx(own_db_stack):
    stack, site, records = own_db_stack
    count = 200
    uploads = [distinct_png(i, size=48) for i in range(count)]
    start = threading.Barrier(count)

    def one(index: int):
        start.wait()
        return site.upload(uploads[index], f"{index}.png")

    with ThreadPoolExecutor(count) as pool:
        answers = list(pool.map(one, range(count)))
    assert [status for status, _, _ in answers] == [201] * count
    names = [body["name"] for _, _, body in answers]
    assert len(set(names)) == count
    for index, (_, _, body) in enumerate(answers):
        status, headers, served = site.request("GET", body["path"])
        assert status == 200 and headers["Content-Type"] == "image/png"
        assert served == uploads[index]
        with Image.open(io.BytesIO(served)) as image:
            assert image.getpixel((0, 0)) == (index % 256, index // 256, 77)
    files = image_files(stack)
    assert records.count() == count
    assert len([p for p in files if ".thumb." not in p.name]) == count
    assert len([p for p in files if ".thumb." in p.name]) == count
    assert temp_files(stack) == []
    assert os.path.exists(stack.settings.logs_dir / "nginx-access.log")


def test_several_workers_check_once_at_start_and_stop_cleanly(tmp_path, mongo_uri):
    db = f"workers_{uuid.uuid4().hex[:12]}"
    env = stack_env(tmp_path / "var", MONGODB_URI=mongo_uri, MONGODB_DB=db, WORKERS="3")
    with start_stack(env) as stack:
        site = Http(stack.http_port)
        assert all(site.upload(distinct_png(i))[0] == 201 for i in range(6))
        stack.app.send_signal(signal.SIGTERM)
        assert stack.app.wait(30) == 0
        log = (stack.settings.logs_dir / "app.log").read_text()
    assert len(re.findall(r"app listening on .* pid=(\d+)", log)) == 3
    assert log.count("consistency check:") == 1
