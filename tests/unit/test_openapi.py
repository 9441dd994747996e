"""The OpenAPI document is well-formed OpenAPI 3.1 and says what the routes do."""

import re
from pathlib import Path

import jsonschema_rs
import pytest

# The OpenAPI 3.1 meta-schema that schemathesis ships (it does not validate on load).
from schemathesis.specs.openapi.definitions import OPENAPI_31_VALIDATOR

from imagehost.storage import IMAGE_NAME
from imagehost.web.openapi import DELETE_TOKEN_HEADER, openapi_document

ROOT = Path(__file__).resolve().parents[2]
DOCUMENT = openapi_document("https://img.example.org", 5 * 1024 * 1024)


def operations():
    for path, item in DOCUMENT["paths"].items():
        for method, operation in item.items():
            if method != "parameters":
                yield path, method, operation


def test_it_is_valid_openapi_3_1():
    OPENAPI_31_VALIDATOR.validate(DOCUMENT)
    assert DOCUMENT["openapi"] == "3.1.0"


def test_a_broken_document_would_be_caught():
    broken = openapi_document("https://img.example.org", 1)
    broken["paths"]["/api/v1/images"]["post"]["responses"] = []
    with pytest.raises(jsonschema_rs.ValidationError):
        OPENAPI_31_VALIDATOR.validate(broken)


@pytest.mark.parametrize("name", sorted(DOCUMENT["components"]["schemas"]))
def test_component_schemas_are_valid_json_schema(name):
    jsonschema_rs.meta.validate(DOCUMENT["components"]["schemas"][name])


def test_every_error_answer_is_the_error_object():
    for _, _, operation in operations():
        for status, response in operation["responses"].items():
            if int(status) >= 400:
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/Error"}


def test_links_point_at_operations_that_exist():
    ids = {operation["operationId"] for _, _, operation in operations()}
    links = DOCUMENT["paths"]["/api/v1/images"]["post"]["responses"]["201"]["links"]
    assert {link["operationId"] for link in links.values()} <= ids
    assert f"header.{DELETE_TOKEN_HEADER}" in links["DeleteImage"]["parameters"]


def test_the_name_pattern_is_the_routes_pattern():
    pattern = DOCUMENT["paths"]["/api/v1/images/{name}"]["parameters"][0]["schema"]["pattern"]
    assert pattern == f"^{IMAGE_NAME}$"
    assert re.match(pattern, "AAAAAAAAAAAAAAAA.png") and not re.match(pattern, "x.thumb.png")


def nginx_error_codes() -> dict[str, str]:
    """The statuses nginx answers itself with a JSON error, and their codes, from its config."""
    config = (ROOT / "nginx" / "imagehost.conf.template").read_text()
    block = re.search(r"map \$status \$imagehost_error_code \{(.*?)\}", config, re.S).group(1)
    return dict(re.findall(r"^\s*(\d{3}) (\w+);", block, re.M))


def test_nginx_own_answers_for_a_missing_app_are_listed_for_every_operation():
    statuses = {s for s, code in nginx_error_codes().items() if code != "malformed_request"}
    assert statuses == {"500", "502", "503", "504"}
    for path, method, operation in operations():
        missing = statuses - set(operation["responses"])
        assert not missing, f"{method} {path} does not list {missing}"
