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


def test_every_error_answer_is_the_error_object_or_nginx_s_text():
    own = nginx_own_statuses()
    for path, method, operation in operations():
        for status, response in operation["responses"].items():
            if int(status) >= 400:
                content = response["content"]
                assert set(content) <= {"application/json", "text/plain"}, (path, status)
                if "application/json" in content:
                    schema = content["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/Error"}
                if "text/plain" in content:
                    assert status in own, f"{method} {path}: {status} in text is not nginx's"


def test_links_point_at_operations_that_exist():
    ids = {operation["operationId"] for _, _, operation in operations()}
    links = DOCUMENT["paths"]["/api/v1/images"]["post"]["responses"]["201"]["links"]
    assert {link["operationId"] for link in links.values()} <= ids
    assert f"header.{DELETE_TOKEN_HEADER}" in links["DeleteImage"]["parameters"]


def test_the_name_pattern_is_the_routes_pattern():
    pattern = DOCUMENT["paths"]["/api/v1/images/{name}"]["parameters"][0]["schema"]["pattern"]
    assert pattern == f"^{IMAGE_NAME}$"
    assert re.match(pattern, "AAAAAAAAAAAAAAAA.png") and not re.match(pattern, "x.thumb.png")


NGINX_CONFIG = (ROOT / "nginx" / "imagehost.conf.template").read_text()
# In nginx's error_page, but never sent in front of the app: nginx takes a body sent without a
# length for no body at all (tests/e2e/test_nginx_errors.py sends one).
NEVER_SENT = {"411"}


def error_page_statuses() -> set[str]:
    """Every status of the nginx server's error_page lines."""
    lines = re.findall(r"^\s*error_page ((?:\d{3} )+)\S+;", NGINX_CONFIG, re.M)
    return {status for line in lines for status in line.split()}


def nginx_own_statuses() -> set[str]:
    """The statuses nginx answers itself on any path: its error_page's (a 494, headers too
    large, goes out as a 400) but for the rate limits' 429 (below) and those never sent."""
    statuses = error_page_statuses() - {"429"} - NEVER_SENT
    return {"400" if status == "494" else status for status in statuses}


def nginx_error_codes() -> dict[str, str]:
    """The code of each of nginx's own JSON errors, from its config's error-code map."""
    block = re.search(r"map \$status \$imagehost_error_code \{(.*?)\}", NGINX_CONFIG, re.S)
    codes = dict(re.findall(r"^\s*(\d{3}|default) (\w+);", block.group(1), re.M))
    default = codes.pop("default")
    return {status: codes.get(status, default) for status in nginx_own_statuses()} | {
        "413": re.search(r'return 413 \'\{.*"code": "(\w+)"', NGINX_CONFIG).group(1)
    }


def rate_limited_operations() -> set[tuple[str, str]]:
    """(path, method) of the API's operations that nginx's limit_req may refuse with 429."""
    counted = re.search(
        r"map \$request_method \$imagehost_post_client \{(.*?)\}", NGINX_CONFIG, re.S
    )
    methods = re.findall(r"^\s*([A-Z]+)\s+\$binary_remote_addr;", counted.group(1), re.M)
    paths = re.findall(r"location = (/api/\S+) \{\s*limit_req ", NGINX_CONFIG)
    return {(path, method.lower()) for path in paths for method in methods}


def test_the_config_is_read_as_it_is():
    """The readers above find what nginx's config says (so the tests below can fail)."""
    assert nginx_own_statuses() == {"400", "413", "414", "500", "501", "502", "503", "504"}
    assert NEVER_SENT < error_page_statuses()
    assert rate_limited_operations() == {("/api/v1/images", "post")}
    assert nginx_error_codes()["501"] == "malformed_request"
    assert nginx_error_codes()["413"] == "too_large"


def test_nginx_own_answers_are_listed_for_every_operation():
    statuses = nginx_own_statuses()
    for path, method, operation in operations():
        missing = statuses - set(operation["responses"])
        assert not missing, f"{method} {path} does not list {missing}"
    for path, method in rate_limited_operations():
        assert "429" in DOCUMENT["paths"][path][method]["responses"], f"{method} {path}"


def test_nginx_own_json_answers_name_their_code():
    for path, method, operation in operations():
        for status, code in nginx_error_codes().items():
            answer = operation["responses"][status]
            if "application/json" in answer["content"]:
                assert f"`{code}`" in answer["description"], f"{method} {path} {status}"


def test_every_path_documents_its_cors_preflight():
    for path, item in DOCUMENT["paths"].items():
        methods = [method.upper() for method in item if method not in ("parameters", "options")]
        headers = item["options"]["responses"]["204"]["headers"]
        assert headers["Allow"]["schema"]["const"] == ", ".join([*methods, "OPTIONS"]), path
        assert headers["Access-Control-Allow-Methods"]["schema"]["const"] == ", ".join(methods)
