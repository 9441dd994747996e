"""Fixtures the layers share: settings on a temp folder, the embedded database, and the whole
stack behind nginx (for the e2e and browser layers)."""

import uuid
from dataclasses import replace

import pytest
from loguru import logger

from imagehost.dev.rgw import CephRGW
from imagehost.embedded import EmbeddedMongo
from imagehost.settings import load_settings, prepare_folders
from tests.stack import Http, stack_env, start_stack


@pytest.fixture(scope="session")
def mongo_uri(tmp_path_factory):
    """One embedded nx-27017 server for the session; each test uses its own database."""
    with EmbeddedMongo(tmp_path_factory.mktemp("db")) as server:
        yield server.uri


@pytest.fixture(scope="session")
def rgw(tmp_path_factory):
    """One Ceph RADOS Gateway for the session (scripts/ceph-rgw.sh): a real S3 server."""
    with CephRGW(tmp_path_factory.mktemp("rgw")) as gateway:
        yield gateway


@pytest.fixture(scope="session")
def s3_config(rgw):
    """A bucket on the session's gateway; each test that uses it takes a prefix of its own."""
    return rgw.config("tests")


@pytest.fixture
def s3_prefix_config(s3_config):
    """The session's bucket under a fresh prefix: a test sees only its own objects."""
    return replace(s3_config, prefix=f"t-{uuid.uuid4().hex[:12]}/images")


@pytest.fixture
def settings(tmp_path, mongo_uri):
    db_name = f"t_{uuid.uuid4().hex[:16]}"  # each test its own database
    env = {
        "VAR_DIR": str(tmp_path / "var"),
        "MONGODB_URI": mongo_uri,
        "MONGODB_DB": db_name,
        "COOKIE_SECRET": "test-secret-" + "x" * 32,
        "DB_TIMEOUT_MS": "2000",
    }
    value = load_settings(env)
    prepare_folders(value)
    return value


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """The whole local stack, as `make run` starts it: app (+ embedded database) behind nginx."""
    env = stack_env(tmp_path_factory.mktemp("stack"), MONGODB_URI="")
    with start_stack(env) as running:
        yield running


@pytest.fixture(scope="module")
def site(stack):
    return Http(stack.http_port)


@pytest.fixture
def log_lines():
    """What the app logs during the test, one string per line."""
    lines: list[str] = []
    sink = logger.add(lambda message: lines.append(str(message)), format="{level} {message}")
    yield lines
    logger.remove(sink)
