"""End-to-end fixtures beyond the shared `stack`/`site`: a stack whose records tests can read."""

import uuid

import pytest

from tests.stack import Http, Records, stack_env, start_stack


@pytest.fixture(scope="module")
def db_stack(tmp_path_factory, mongo_uri):
    """A stack on the session's database (its own db name), so tests can read the records."""
    db = f"e2e_{uuid.uuid4().hex[:12]}"
    env = stack_env(tmp_path_factory.mktemp("dbstack"), MONGODB_URI=mongo_uri, MONGODB_DB=db)
    with start_stack(env) as running:
        records = Records(mongo_uri, db)
        yield running, Http(running.http_port), records
        records.close()
