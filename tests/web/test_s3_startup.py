"""STORAGE=s3 is checked at start-up: an unreachable endpoint, a missing bucket or refused keys
stop the app with one clear line."""

import pytest

from imagehost.dev.devstack import free_port
from tests.cli import run_imagehost


@pytest.fixture
def s3_env(rgw, s3_config, mongo_uri, tmp_path):
    return {
        **rgw.env(s3_config),
        "VAR_DIR": str(tmp_path / "var"),
        "MONGODB_URI": mongo_uri,
        "COOKIE_SECRET": "s" * 40,
        "PORT": str(free_port()),
        "WORKERS": "1",
    }


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"S3_ENDPOINT": "http://127.0.0.1:9"}, "the endpoint is unreachable"),
        ({"S3_BUCKET": "no-such-bucket"}, "the bucket does not exist"),
        ({"S3_ACCESS_KEY_ID": "NOSUCHKEY"}, "the access key is unknown"),
        ({"S3_SECRET_ACCESS_KEY": "wrong"}, "the secret key is wrong"),
    ],
)
def test_an_unusable_bucket_stops_the_app_with_one_line(s3_env, changes, words):
    done = run_imagehost({**s3_env, **changes}, "serve")
    assert done.returncode == 1
    errors = [line for line in done.stderr.splitlines() if "ERROR" in line]
    assert len(errors) == 1 and "object storage unusable" in errors[0], done.stderr
    assert words in errors[0]
