"""Bucket set-up that obstore does not do: create a bucket, read and set its policy.

Plain SigV4-signed requests over urllib (`python -m imagehost s3-setup`, the tests, benchmarks).
"""

import datetime
import hashlib
import hmac
import json
import urllib.error
import urllib.request
from urllib.parse import quote, urlsplit

from .s3config import S3Config


class S3AdminError(RuntimeError):
    """The server refused a bucket call; the message holds its error code."""


def read_policy(config: S3Config, reader_ip: str = "") -> dict:
    """The bucket policy nginx needs: anonymous GET of objects under the prefix only, and, when
    `reader_ip` is given, only from that address (nginx's, as the store sees it)."""
    statement = {
        "Sid": "ImagehostPublicRead",
        "Effect": "Allow",
        "Principal": "*",
        "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{config.bucket}/{config.key('*')}",
    }
    if reader_ip:
        statement["Condition"] = {"IpAddress": {"aws:SourceIp": reader_ip}}
    return {"Version": "2012-10-17", "Statement": [statement]}


def create_bucket(config: S3Config) -> None:
    """Create the bucket; nothing happens when this user already owns it."""
    try:
        _request(config, "PUT", "")
    except S3AdminError as exc:
        if "BucketAlreadyOwnedByYou" not in str(exc):
            raise


def put_policy(config: S3Config, policy: dict) -> None:
    _request(config, "PUT", "policy", json.dumps(policy).encode())


def endpoint_url(config: S3Config) -> str:
    if config.endpoint:
        return config.endpoint.rstrip("/")
    return f"https://s3.{config.region}.amazonaws.com"


def _request(config: S3Config, method: str, subresource: str, body: bytes = b"") -> bytes:
    base = urlsplit(endpoint_url(config))
    path = f"/{quote(config.bucket)}"
    query = f"{subresource}=" if subresource else ""
    now = datetime.datetime.now(datetime.UTC)
    stamp, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    payload = hashlib.sha256(body).hexdigest()
    headers = {"host": base.netloc, "x-amz-content-sha256": payload, "x-amz-date": stamp}
    signed = ";".join(sorted(headers))
    canonical = "\n".join(
        [method, path, query, *(f"{k}:{headers[k]}" for k in sorted(headers)), "", signed, payload]
    )
    scope = f"{day}/{config.region}/s3/aws4_request"
    to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", stamp, scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    key = ("AWS4" + config.secret_access_key).encode()
    for part in (day, config.region, "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={config.access_key_id}/{scope}, "
        f"SignedHeaders={signed}, Signature={signature}"
    )
    url = f"{base.scheme}://{base.netloc}{path}" + (f"?{query}" if query else "")
    request = urllib.request.Request(url, data=body or None, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.read()
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode(errors="replace")
        raise S3AdminError(f"{method} {url} answered {exc.code}: {detail[:300]}") from None
