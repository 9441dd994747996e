"""What ShareX does with a custom uploader (.sxcu), for tests: build the request, read the answer.

Only the parts imagehost's uploader uses: POST, MultipartFormData, Headers, {json:...} syntax.
"""

import json
import re

from tests.images import multipart

_JSON_SYNTAX = re.compile(r"\{json:([^}]+)\}")


def upload_request(config: dict, data: bytes, filename: str) -> tuple[str, str, bytes, dict]:
    """(method, url, body, headers) of the upload the uploader describes."""
    assert config["Body"] == "MultipartFormData"
    fields = [
        (name, None, str(value).encode()) for name, value in config.get("Arguments", {}).items()
    ]
    body, content_type = multipart([*fields, (config["FileFormName"], filename, data)])
    headers = {**config.get("Headers", {}), "Content-Type": content_type}
    return config["RequestMethod"], config["RequestURL"], body, headers


def resolve(template: str, response_body: bytes) -> str:
    """Replace {json:a.b} with the value at that path in the JSON answer, as ShareX does."""
    document = json.loads(response_body)

    def value(match: re.Match) -> str:
        node = document
        for key in match.group(1).split("."):
            node = node[key]
        return str(node)

    return _JSON_SYNTAX.sub(value, template)
