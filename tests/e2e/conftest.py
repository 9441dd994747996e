"""End-to-end fixtures beyond the shared `stack`/`site`: a stack whose records tests can read."""

import uuid

import pytest
from pymongo import MongoClient

from imagehost.dev.devstack import LocalStack
from tests.conftest import free_port
from tests.stack import Http, stack_env


class Records:
    """The stack's image records, read straight from its database."""

    def __init__(self, uri: str, db: str) -> None:
        self.client = MongoClient(uri, serverSelectionTimeoutMS=5000)
        self.images = self.client[db]["images"]

    def count(self) -> int:
        return self.images.count_documents({})

    def get(self, name: str) -> dict | None:
        return self.images.find_one({"name": name}, {"_id": 0})

    def close(self) -> None:
        self.client.close()


@pytest.fixture(scope="module")
def db_stack(tmp_path_factory, mongo_uri):
    """A stack on the session's database (its own db name), so tests can read the records."""
    db = f"e2e_{uuid.uuid4().hex[:12]}"
    env = stack_env(tmp_path_factory.mktemp("dbstack"), MONGODB_URI=mongo_uri, MONGODB_DB=db)
    with LocalStack(env, app_port=free_port(), http_port=free_port()) as running:
        records = Records(mongo_uri, db)
        yield running, Http(running.http_port), records
        records.close()
