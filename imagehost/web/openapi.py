"""The JSON API's OpenAPI 3.1 document, built for the base URL and upload limit it is served with.

The test suite checks it against the real answers (schemathesis), so it stays the API's contract.
"""

from ..expiry import LONGEST
from ..gallery import CURSOR_PATTERN
from ..refusal import CODES
from ..storage import IMAGE_NAME, IMAGE_STEM
from .views import IMAGES_PREFIX, PAGES_PREFIX

API_PREFIX = "/api/v1"
DELETE_TOKEN_HEADER = "X-Delete-Token"
# What a CORS preflight allows an origin that CORS_ORIGINS lists (handlers/api.py answers it).
CORS_REQUEST_HEADERS = f"Accept, Authorization, Content-Type, {DELETE_TOKEN_HEADER}"
CORS_MAX_AGE_SECONDS = 600
# Delete tokens are URL-safe base64 (secrets.token_urlsafe); the bound only rejects nonsense.
TOKEN_PATTERN = "^[A-Za-z0-9_-]{1,128}$"


def _json(schema_name: str, description: str) -> dict:
    schema = {"$ref": f"#/components/schemas/{schema_name}"}
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _error(description: str) -> dict:
    return _json("Error", description)


_UNAVAILABLE = _error("The database is unavailable; nothing was changed. Try again shortly.")


def _text(description: str) -> dict:
    """One of nginx's own answers in text (`error: <message>`): those it sends before it has
    read the path or the headers, so before it can know that the API was asked."""
    schema = {"type": "string", "pattern": "^error: "}
    return {"description": description, "content": {"text/plain": {"schema": schema}}}


def _also(own: dict, other: dict) -> dict:
    """One status's answer described by two: the operation's own, and nginx's."""
    content = {**other.get("content", {}), **own.get("content", {})}
    return {
        **own,
        "description": f"{own['description']} {other['description']}",
        "content": content,
    }


# What nginx itself answers in front of every API path (nginx/imagehost.conf.template's
# error_page): a request it cannot read, a body over its limit, the app down or too slow, or an
# error it could not turn into an answer; JSON with a code, or text where nginx knows no path.
# A status an operation documents already gets nginx's added. 411 is in nginx's error_page but
# never sent here: nginx takes a body sent without a length for no body at all.
_FROM_NGINX = {
    "400": _also(
        _error(
            "From nginx, `malformed_request`: a header it cannot read (or headers over its "
            "buffers), a Content-Length that is not one number, Content-Length together with "
            "Transfer-Encoding, or Transfer-Encoding in HTTP/1.0."
        ),
        _text("A request line it cannot read is answered in text: it knows no path then."),
    ),
    "413": _error("`too_large` (from nginx): the body is larger than nginx takes."),
    "414": _text(
        "From nginx, in text: the path and query are longer than nginx reads (8 KB); it has "
        "read no headers then, so it cannot tell that the API was asked."
    ),
    "500": _error("`server_error`: an error the server could not answer otherwise."),
    "501": _error("`malformed_request` (from nginx): a Transfer-Encoding other than chunked."),
    "502": _error("`app_unavailable` (from nginx): the app is not running or restarting."),
    "503": _error("`app_unavailable` (from nginx): the app is overloaded or stopping."),
    "504": _error("`app_unavailable` (from nginx): the app did not answer in time."),
}
_BAD_TOKEN = _error(
    "The Bearer token is not valid (`bad_token`: revoked, mistyped, or its account is disabled)."
)
# Every operation takes a token; the caller's own ones require it (or a session cookie).
_OPTIONAL_TOKEN = [{}, {"bearer": []}]
_TOKEN = [{"bearer": []}]
_NAME_PARAMETER = {
    "name": "name",
    "in": "path",
    "required": True,
    "description": "The image's name, as in its URL: 16 characters and an extension.",
    "schema": {"type": "string", "pattern": f"^{IMAGE_NAME}$"},
}

_SCHEMAS = {
    "Image": {
        "type": "object",
        "required": [
            "url", "path", "name", "format", "width", "height", "size", "thumbnail_url",
            "page_url", "created_at", "expires_at",
        ],
        "properties": {
            "url": {"type": "string", "format": "uri", "description": "Direct link to the image."},
            "path": {"type": "string", "pattern": f"^{IMAGES_PREFIX}{IMAGE_NAME}$"},
            "name": {"type": "string", "pattern": f"^{IMAGE_NAME}$"},
            "format": {"type": "string", "enum": ["jpeg", "png", "gif"]},
            "width": {"type": "integer", "minimum": 1},
            "height": {"type": "integer", "minimum": 1},
            "size": {"type": "integer", "minimum": 1, "description": "Bytes stored."},
            "thumbnail_url": {"type": "string", "format": "uri"},
            "page_url": {
                "type": "string", "format": "uri", "pattern": f"{PAGES_PREFIX}{IMAGE_STEM}$",
                "description": "The image's page: the image, its links, and OpenGraph tags for "
                "chat apps' previews.",
            },
            "created_at": {"type": "string", "format": "date-time"},
            "expires_at": {
                "type": ["string", "null"], "format": "date-time",
                "description": "When the image is deleted by itself; null: kept until deleted.",
            },
        },
    },
    "UploadedImage": {
        "allOf": [
            {"$ref": "#/components/schemas/Image"},
            {
                "type": "object",
                "required": ["delete_url", "delete_token"],
                "properties": {
                    "delete_url": {
                        "type": "string",
                        "format": "uri",
                        "description": "A page that deletes the image (GET asks, POST deletes).",
                    },
                    "delete_token": {
                        "type": "string",
                        "pattern": TOKEN_PATTERN,
                        "description": f"Send it in {DELETE_TOKEN_HEADER} to delete the image.",
                    },
                },
            },
        ]
    },
    "User": {
        "type": "object",
        "required": ["id", "username", "role", "created_at", "usage", "quota"],
        "properties": {
            "id": {"type": "string", "description": "Images of the user have owner `user:<id>`."},
            "username": {"type": "string"},
            "role": {"type": "string", "enum": ["user", "admin"]},
            "created_at": {"type": "string", "format": "date-time"},
            "usage": {
                "type": "object",
                "required": ["images", "bytes", "images_today"],
                "properties": {
                    "images": {"type": "integer", "minimum": 0, "description": "Images stored."},
                    "bytes": {"type": "integer", "minimum": 0, "description": "Bytes stored."},
                    "images_today": {
                        "type": "integer", "minimum": 0,
                        "description": "Images uploaded in the last 24 hours (still stored).",
                    },
                },
                "additionalProperties": False,
            },
            "quota": {
                "type": "object",
                "description": "The account's limits; null: none. An upload past one is refused "
                "with 403 `quota_bytes` or `quota_daily`.",
                "required": ["bytes", "images_per_day"],
                "properties": {
                    "bytes": {"type": ["integer", "null"], "minimum": 1},
                    "images_per_day": {"type": ["integer", "null"], "minimum": 1},
                },
                "additionalProperties": False,
            },
        },
        "additionalProperties": False,
    },
    "ImagePage": {
        "type": "object",
        "required": ["images", "next"],
        "properties": {
            "images": {"type": "array", "items": {"$ref": "#/components/schemas/Image"}},
            "next": {
                "type": ["string", "null"],
                "pattern": f"^{CURSOR_PATTERN}$",
                "description": "Send it as `before` for the next page; null on the last page.",
            },
        },
        "additionalProperties": False,
    },
    "Deleted": {
        "type": "object",
        "required": ["deleted"],
        "properties": {"deleted": {"type": "string", "pattern": f"^{IMAGE_NAME}$"}},
        "additionalProperties": False,
    },
    "Error": {
        "type": "object",
        "required": ["error", "code"],
        "properties": {
            "error": {
                "type": "string",
                "description": "What went wrong, for people, in the language negotiated from "
                "Accept-Language (English or Russian).",
            },
            "code": {
                "type": "string",
                "enum": list(CODES),
                "description": "What went wrong, for programs; stable across languages and "
                "releases: " + "; ".join(f"`{code}`: {meaning}" for code, meaning in CODES.items()),
            },
        },
        "additionalProperties": False,
    },
}  # fmt: skip


def openapi_document(base_url: str, max_upload_bytes: int) -> dict:
    """The document for a server at `base_url` that accepts files up to `max_upload_bytes`."""
    limit = f"{max_upload_bytes:,} bytes"
    upload = {
        "operationId": "uploadImage",
        "summary": "Upload one image",
        "security": _OPTIONAL_TOKEN,
        "description": (
            "Multipart form data with one file part named `file`: a JPEG, PNG or GIF of at most "
            f"{limit}, and optionally a field `album`. The file is checked completely before it "
            "is stored; metadata is stripped when the server is set to. With a Bearer token the "
            "image is the token owner's (in their gallery); without one it belongs to nobody, or "
            "is refused (401) when the server takes no anonymous uploads. Requests that carry "
            "cookies and no token must also carry the XSRF token (X-XSRFToken), as a browser "
            "form does."
        ),
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["file"],
                        "properties": {
                            "file": {
                                "type": "string",
                                "format": "binary",
                                "minLength": 1,
                            },
                            "album": {
                                "type": "string",
                                "description": (
                                    "An album's id (from its own page, /albums/<id>): the image "
                                    "is added at its end. It must be an album of the uploader "
                                    "(the owner cookie, or a signed-in account), else 404 and "
                                    "nothing is stored."
                                ),
                            },
                            "expires_in": {
                                "type": "integer",
                                "minimum": 0,
                                "maximum": LONGEST,
                                "description": (
                                    "Delete the image after this many seconds; 0: never. "
                                    "Without it, the server's default. Longer than the "
                                    "server allows (it may allow less to uploads without an "
                                    "account) is refused with 400 `expiry_too_long`, never "
                                    "shortened."
                                ),
                            },
                        },
                    },
                    "encoding": {"file": {"contentType": "image/jpeg, image/png, image/gif"}},
                }
            },
        },
        "responses": {
            "201": {
                **_json("UploadedImage", "Stored. Keep `delete_token` (or `delete_url`)."),
                "headers": {
                    "Location": {
                        "description": "This image's URL in the API.",
                        "schema": {"type": "string", "format": "uri"},
                    }
                },
                "links": {
                    "GetImage": {
                        "operationId": "getImage",
                        "parameters": {"name": "$response.body#/name"},
                    },
                    "DeleteImage": {
                        "operationId": "deleteImage",
                        "parameters": {
                            "name": "$response.body#/name",
                            f"header.{DELETE_TOKEN_HEADER}": "$response.body#/delete_token",
                        },
                    },
                },
            },
            "400": _error(
                "The body is not multipart form data with exactly one file in `file`, or "
                "`expires_in` is not a whole number of seconds (`invalid_expiry`) or is longer "
                "than the server allows (`expiry_too_long`)."
            ),
            "401": _error(
                "The Bearer token is not valid (`bad_token`), or the server takes uploads only "
                "from signed-in users and none was sent (`sign_in_required`), or the account "
                "was deleted or disabled while the upload ran (`account_gone`): nothing was "
                "stored."
            ),
            "403": _error(
                "The request carried cookies but no valid XSRF token (`xsrf`), or the account "
                "is at its quota: of bytes stored (`quota_bytes`) or of images uploaded in the "
                "last 24 hours (`quota_daily`); nothing was stored, and sending it again will "
                "not help until images are deleted, the day's uploads age, or the admin raises "
                "the limit."
            ),
            "413": _error(f"The file (or the whole body) is larger than {limit}."),
            "404": _error("`album` names no album of the uploader; nothing was stored."),
            "415": _error("Not multipart form data, or the file is not a JPEG, PNG or GIF."),
            "422": _error("The file is damaged, or its pixel count is over the server's limit."),
            "429": {
                **_error("Too many uploads from this address (nginx's limit): nothing was stored."),
                "headers": {
                    "Retry-After": {
                        "description": "Seconds after which one more upload is let in.",
                        "schema": {"type": "integer", "minimum": 1},
                    }
                },
            },
            "503": _UNAVAILABLE,
            "507": _error("The server's image storage is full; nothing was stored."),
        },
    }
    image_path = {
        "parameters": [_NAME_PARAMETER],
        "get": {
            "operationId": "getImage",
            "summary": "What is known about an image",
            "security": _OPTIONAL_TOKEN,
            "responses": {
                "200": _json("Image", "The image's links, format, size and date."),
                "401": _BAD_TOKEN,
                "404": _error("There is no image of that name."),
                "503": _UNAVAILABLE,
            },
        },
        "delete": {
            "operationId": "deleteImage",
            "summary": "Delete an image with its delete token",
            "security": _OPTIONAL_TOKEN,
            "parameters": [
                {
                    "name": DELETE_TOKEN_HEADER,
                    "in": "header",
                    "required": True,
                    "description": "The `delete_token` given when the image was uploaded.",
                    "schema": {"type": "string", "pattern": TOKEN_PATTERN},
                }
            ],
            "responses": {
                "200": _json("Deleted", "The image, its thumbnail and its record are gone."),
                "400": _error(f"The {DELETE_TOKEN_HEADER} header is missing or empty."),
                "401": _BAD_TOKEN,
                "403": _error("The token does not match this image (or XSRF failed)."),
                "404": _error("There is no image of that name."),
                "503": _UNAVAILABLE,
            },
        },
    }
    me = {
        "get": {
            "operationId": "getMe",
            "summary": "The account the token belongs to",
            "security": _TOKEN,
            "responses": {
                "200": _json("User", "The caller's account."),
                "401": _error("No token (`sign_in_required`) or a token that is not valid."),
                "503": _UNAVAILABLE,
            },
        }
    }
    my_images = {
        "get": {
            "operationId": "listMyImages",
            "summary": "The caller's own images, newest first",
            "description": "Keyset pages: pass the answer's `next` as `before` for the next one.",
            "security": _TOKEN,
            "parameters": [
                {
                    "name": "before",
                    "in": "query",
                    "required": False,
                    "description": "The `next` of the previous page.",
                    "schema": {"type": "string", "pattern": f"^{CURSOR_PATTERN}$"},
                },
                {
                    "name": "limit",
                    "in": "query",
                    "required": False,
                    "description": "Images per page.",
                    "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 24},
                },
            ],
            "responses": {
                "200": _json("ImagePage", "One page of the caller's images."),
                "400": _error("`before` or `limit` is not one this API writes or takes."),
                "401": _error("No token (`sign_in_required`) or a token that is not valid."),
                "503": _UNAVAILABLE,
            },
        }
    }
    document = {
        "openapi": "3.1.0",
        "info": {
            "title": "imagehost API",
            "version": "1",
            "description": (
                "Upload, read and delete images. Every answer with a body is JSON, but for two "
                "of nginx's own in text (a request line it cannot read, 400, and a path too "
                'long, 414); errors are `{"error": "...", "code": "..."}` with the status that '
                "fits: `code` is stable for programs, `error` says it in the language "
                "Accept-Language asks for (English or Russian)."
            ),
        },
        "servers": [{"url": base_url or "/"}],
        "paths": {
            f"{API_PREFIX}/images": {"post": upload},
            f"{API_PREFIX}/images/{{name}}": image_path,
            f"{API_PREFIX}/me": me,
            f"{API_PREFIX}/me/images": my_images,
            "/api/openapi.json": {
                "get": {
                    "operationId": "getOpenApiDocument",
                    "summary": "This document",
                    "responses": {
                        "200": {
                            "description": "The OpenAPI document.",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        }
                    },
                }
            },
        },
        "components": {
            "schemas": _SCHEMAS,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A personal API token, made on the account page (/account).",
                }
            },
        },
    }
    for item in document["paths"].values():
        item["options"] = _preflight(item)
    for operation in _operations(document):
        responses = operation["responses"]
        for status, answer in _FROM_NGINX.items():
            responses[status] = _also(responses[status], answer) if status in responses else answer
    return document


def _operations(document: dict) -> list[dict]:
    return [
        operation
        for item in document["paths"].values()
        for operation in item.values()
        if isinstance(operation, dict) and "responses" in operation
    ]


def _preflight(item: dict) -> dict:
    """OPTIONS on a path, as the app answers it: the path's methods, and for an origin that
    CORS_ORIGINS lists (none by default) what a browser from there may send."""
    methods = ", ".join(method.upper() for method in item if method != "parameters")
    first = next(operation for method, operation in item.items() if method != "parameters")
    allowed = "only for an Origin that CORS_ORIGINS lists"

    def header(description: str, schema: dict, required: bool = False) -> dict:
        return {"description": description, "required": required, "schema": schema}

    preflight = {
        "operationId": f"{first['operationId']}Preflight",
        "summary": "CORS preflight: the methods and headers a browser may use here",
        "description": "Access-Control-Request-Method and -Headers are not read: the answer "
        "lists every method of the path and every header the API reads.",
        "security": _OPTIONAL_TOKEN,
        "parameters": [
            {
                "name": "Origin",
                "in": "header",
                "required": False,
                "description": "The calling page's origin, as browsers send it.",
                "schema": {"type": "string"},
            }
        ],
        "responses": {
            "204": {
                "description": "No Origin, or one that CORS_ORIGINS lists (then with the "
                "Access-Control headers).",
                "headers": {
                    "Allow": header(
                        "The path's methods.", {"const": f"{methods}, OPTIONS"}, required=True
                    ),
                    "Access-Control-Allow-Origin": header(
                        f"The request's Origin, or `*` when CORS_ORIGINS is `*`; {allowed}.",
                        {"type": "string"},
                    ),
                    "Access-Control-Allow-Methods": header(
                        f"The path's methods; {allowed}.", {"const": methods}
                    ),
                    "Access-Control-Allow-Headers": header(
                        f"The request headers the API reads; {allowed}.",
                        {"const": CORS_REQUEST_HEADERS},
                    ),
                    "Access-Control-Max-Age": header(
                        f"Seconds a browser may keep this answer; {allowed}.",
                        {"type": "integer", "const": CORS_MAX_AGE_SECONDS},
                    ),
                    "Access-Control-Expose-Headers": header(
                        f"The answer headers a page may read; {allowed}.", {"const": "Location"}
                    ),
                },
            },
            "401": _BAD_TOKEN,
            "403": _error(
                "`origin_not_allowed`: an Origin that CORS_ORIGINS does not list (any Origin "
                "with CORS_ORIGINS empty, the default); no Access-Control headers."
            ),
            "503": _UNAVAILABLE,
        },
    }
    if "parameters" in item:
        # The name is not looked up: only one that no route takes (the pattern refuses it).
        preflight["responses"]["404"] = _error(
            "`not_found`: no such API path (the name is not one an image can have)."
        )
    return preflight
