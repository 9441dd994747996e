"""What STORAGE=s3 is set with, and the error an object store's failure raises. Apart from
s3storage, so that settings and error handling never load obstore: only a process that uses
the bucket does (its library adds about 8 MiB to each process)."""

from dataclasses import dataclass, field


class StorageError(OSError):
    """The object store refused or failed a call; the message says which and why."""


@dataclass(frozen=True)
class S3Config:
    endpoint: str  # empty: the provider's default (AWS)
    bucket: str
    prefix: str  # "images" or "" for the bucket's root; never with slashes at its ends
    region: str
    access_key_id: str = field(repr=False)
    secret_access_key: str = field(repr=False)

    def key(self, name: str) -> str:
        return f"{self.prefix}/{name}" if self.prefix else name
