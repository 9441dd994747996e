"""The JSON API against its own OpenAPI document, fuzzed by schemathesis through the real nginx.

Bounded: a fixed number of generated requests per operation and of upload-read-delete sequences
(a few seconds in all). Every answer must be documented: status, content type, headers, schema.
"""

import json
import secrets

import hypothesis
import pytest
import schemathesis
from pymongo import MongoClient

from imagehost.accounts.onetime import secret_hash
from imagehost.accounts.tokens import API_TOKENS, TOKEN_PREFIX
from imagehost.accounts.users import USERS
from imagehost.embedded import running_embedded_uri
from imagehost.settings import load_settings
from imagehost.web.openapi import openapi_document
from tests import images

pytestmark = pytest.mark.e2e

MAX_UPLOAD_BYTES = load_settings({}).max_upload_bytes  # what the e2e stack runs with
EXAMPLES_PER_OPERATION = 40
# The upload's optional `album` field, random, names no album (404), and the caller's own
# operations take steps too, so few sequences reach a GET after a 201: 30 random ones missed it
# in a full run. 60, drawn the same way every run (derandomized), reach all three successes.
SEQUENCES, STEPS_PER_SEQUENCE = 60, 6

SETTINGS = {
    "generation": {"mode": "all", "max-examples": EXAMPLES_PER_OPERATION, "database": "none"},
    # nginx refuses TRACE itself (405, its own page) before any location is chosen.
    "phases": {
        "coverage": {"unexpected-methods": ["get", "put", "post", "delete", "patch", "options"]}
    },
    "operations": [
        {
            # Bytes the schema allows are not all images: the content check answers 415/422;
            # an `album` string names no album of this (cookieless) client: 404.
            "include-operation-id": "uploadImage",
            # An optional form field made an empty array is sent as no field at all, which
            # is the field left out, so that "negative" body is rightly taken (201).
            "checks": {
                "positive_data_acceptance": {"expected-statuses": [201, 404, 415, 422]},
                "negative_data_rejection": {"expected-statuses": [201, 400, 404, 415, 422]},
            },
        }
    ],
}
CONFIG = schemathesis.Config.from_dict(SETTINGS)
# Valid requests only: negative ones (a mangled name, an expires_in of -1) end a sequence
# before its GET and DELETE links are followed; the test above sends them.
POSITIVE = {**SETTINGS, "generation": {**SETTINGS["generation"], "mode": "positive"}}
# The document as the app builds it; the first test checks that the stack serves exactly this.
SCHEMA = schemathesis.openapi.from_dict(
    openapi_document("http://127.0.0.1", MAX_UPLOAD_BYTES), config=CONFIG
)
SEQUENCE_SCHEMA = schemathesis.openapi.from_dict(
    openapi_document("http://127.0.0.1", MAX_UPLOAD_BYTES),
    config=schemathesis.Config.from_dict(POSITIVE),
)


def test_the_stack_serves_the_document_under_test(site):
    status, _, body = site.request("GET", "/api/openapi.json")
    assert status == 200
    served = json.loads(body)
    assert served == openapi_document(site.base, MAX_UPLOAD_BYTES)
    assert served["paths"] == SCHEMA.raw_schema["paths"]


# The token schemathesis sends (its provider below; cases are drawn before any fixture runs):
# the `auth` fixture gives it to the stack's admin, as the account page stores one.
TOKEN = TOKEN_PREFIX + secrets.token_urlsafe(32)


@SCHEMA.auth()
class StackToken:
    """A real API token, so the caller's own operations answer with data; schemathesis knows
    it for auth, and still sends requests without it where the document says 401."""

    def get(self, case, ctx):
        return TOKEN

    def set(self, case, data, ctx):
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


@pytest.fixture(scope="module")
def auth(stack) -> dict:
    with MongoClient(running_embedded_uri(stack.settings.db_dir)) as client:
        db = client[stack.settings.mongodb_db]
        admin = db[USERS].find_one({"role": "admin"})
        db[API_TOKENS].insert_one(
            {"_id": secret_hash(TOKEN), "public_id": "0123456789abcdef", "user_id": admin["_id"],
             "name": "contract", "created_ms": 0, "last_used_ms": 0}
        )  # fmt: skip
    return {"Authorization": f"Bearer {TOKEN}"}


@SCHEMA.parametrize()
@hypothesis.settings(deadline=None, suppress_health_check=list(hypothesis.HealthCheck))
def test_every_answer_matches_the_document(case, site, auth):
    case.call_and_validate(base_url=site.base)


def test_upload_read_delete_sequences_match_the_document(site, auth):
    """Stateful: the document's links feed `name` and `delete_token` from uploads onwards."""
    calls: list[tuple[str, int]] = []

    class Sequences(SEQUENCE_SCHEMA.as_state_machine()):
        def get_call_kwargs(self, case):
            return {"base_url": site.base}

        def after_call(self, response, case):
            calls.append((f"{case.method} {case.path}", response.status_code))

    Sequences.run(
        settings=hypothesis.settings(
            max_examples=SEQUENCES,
            stateful_step_count=STEPS_PER_SEQUENCE,
            derandomize=True,
            deadline=None,
            suppress_health_check=list(hypothesis.HealthCheck),
        )
    )
    # The sequences reached every success, so the 2xx schemas were checked on real answers.
    assert ("POST /api/v1/images", 201) in calls
    assert ("GET /api/v1/images/{name}", 200) in calls
    assert ("DELETE /api/v1/images/{name}", 200) in calls


def test_my_images_list_the_tokens_uploads_page_by_page(site, auth):
    names = []
    for _ in range(3):
        status, _, body = site.upload(images.png(), headers=auth)
        assert status == 201
        names.append(body["name"])
    seen, before = [], ""
    while True:
        query = "?limit=2" + (f"&before={before}" if before else "")
        status, _, body = site.request("GET", f"/api/v1/me/images{query}", None, auth)
        assert status == 200
        page = json.loads(body)
        seen += [image["name"] for image in page["images"]]
        if page["next"] is None:
            break
        before = page["next"]
    assert seen[:3] == names[::-1]
