"""A throwaway Ceph RADOS Gateway (scripts/ceph-rgw.sh) for tests and benchmarks: a real S3."""

import subprocess
from pathlib import Path

from ..s3admin import create_bucket
from ..s3config import S3Config
from .devstack import free_port

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "ceph-rgw.sh"


class CephRGW:
    """Start one mon, one in-memory OSD and radosgw in `folder`; `config(bucket)` makes a bucket
    and says how to reach it. Stopped by pid files at exit."""

    def __init__(self, folder: Path, port: int = 0) -> None:
        self.folder = Path(folder)
        self.port = port or free_port()
        self.keys: dict[str, str] = {}

    def __enter__(self) -> "CephRGW":
        done = subprocess.run(
            [str(SCRIPT), "start", str(self.folder), str(self.port)],
            capture_output=True, text=True, timeout=180,
        )  # fmt: skip
        if done.returncode != 0:
            self.stop()
            raise RuntimeError(f"Ceph RGW did not start: {done.stderr.strip()}")
        self.keys = dict(line.split("=", 1) for line in done.stdout.split() if "=" in line)
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        subprocess.run([str(SCRIPT), "stop", str(self.folder)], check=False, timeout=60)

    def pids(self) -> list[int]:
        """The gateway's daemons (monitor, OSD, radosgw) that are running, by their pid files."""
        found = []
        for daemon in ("mon", "osd", "rgw"):
            try:
                found.append(int((self.folder / f"{daemon}.pid").read_text()))
            except (OSError, ValueError):
                continue
        return found

    @property
    def endpoint(self) -> str:
        return self.keys["S3_ENDPOINT"]

    def config(self, bucket: str, prefix: str = "images") -> S3Config:
        """A new bucket (or one made before) on this gateway."""
        value = S3Config(
            endpoint=self.endpoint,
            bucket=bucket,
            prefix=prefix,
            region="us-east-1",
            access_key_id=self.keys["S3_ACCESS_KEY_ID"],
            secret_access_key=self.keys["S3_SECRET_ACCESS_KEY"],
        )
        create_bucket(value)
        return value

    def env(self, config: S3Config) -> dict[str, str]:
        """The app's settings for `config`."""
        return {
            "STORAGE": "s3",
            "S3_ENDPOINT": config.endpoint,
            "S3_BUCKET": config.bucket,
            "S3_PREFIX": config.prefix,
            "S3_REGION": config.region,
            "S3_ACCESS_KEY_ID": config.access_key_id,
            "S3_SECRET_ACCESS_KEY": config.secret_access_key,
        }
