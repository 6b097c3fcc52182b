"""The landing store where facilities' monthly files arrive.

Two implementations with one interface: a local folder (the default) and S3 through boto3.
Keys always use ``/`` and are relative to the store's root. A key is never trusted as a
path: :func:`safe_key` refuses absolute paths and ``..`` before any file system access.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Protocol

from hmis.platform.settings import load_settings


class UnsafeKeyError(ValueError):
    """A key that would escape the store's root."""


def safe_key(key: str) -> str:
    parts = PurePosixPath(key).parts
    if not parts or key.startswith("/") or ".." in parts or "\\" in key or "\x00" in key:
        raise UnsafeKeyError(f"key {key!r} is not a plain relative path inside the landing store")
    return key


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    modified_at: datetime


class LandingStore(Protocol):
    url: str

    def list(self, prefix: str) -> list[StoredObject]: ...

    def read(self, key: str) -> bytes: ...

    def write(self, key: str, data: bytes) -> None: ...


class LocalStore:
    """A folder on the local file system; modification time is the submission time."""

    def __init__(self, root: Path):
        self.root = root.resolve()
        self.url = str(self.root)

    def _path(self, key: str) -> Path:
        path = (self.root / safe_key(key)).resolve()
        if self.root not in path.parents and path != self.root:
            raise UnsafeKeyError(f"key {key!r} resolves outside the landing store")
        return path

    def list(self, prefix: str) -> list[StoredObject]:
        base = self.root / prefix
        if not base.exists():
            return []
        found = []
        for dirpath, _dirs, files in os.walk(base):
            for name in files:
                path = Path(dirpath) / name
                stat = path.stat()
                found.append(
                    StoredObject(
                        key=path.relative_to(self.root).as_posix(),
                        size=stat.st_size,
                        modified_at=datetime.fromtimestamp(stat.st_mtime, tz=UTC),
                    )
                )
        return sorted(found, key=lambda obj: obj.key)

    def read(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def write(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".partial")
        tmp.write_bytes(data)
        tmp.replace(path)  # readers never see a half-written file


class S3Store:
    """An S3 bucket (optionally a prefix in it); LastModified is the submission time.

    The endpoint comes from ``HMIS_S3_ENDPOINT_URL`` (any S3-compatible server) and the
    credentials from the usual AWS environment variables or instance role.
    """

    def __init__(self, url: str, endpoint_url: str | None = None):
        import boto3

        without_scheme = url.removeprefix("s3://")
        self.bucket, _, prefix = without_scheme.partition("/")
        self.prefix = prefix.strip("/")
        self.url = url
        self.client = boto3.client(
            "s3", endpoint_url=endpoint_url or load_settings().s3_endpoint_url
        )

    def _full(self, key: str) -> str:
        safe_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def list(self, prefix: str) -> list[StoredObject]:
        found = []
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self._full(prefix)):
            for item in page.get("Contents", []):
                key = item["Key"][len(self.prefix) + 1 :] if self.prefix else item["Key"]
                found.append(StoredObject(key=key, size=item["Size"], modified_at=item["LastModified"]))
        return sorted(found, key=lambda obj: obj.key)

    def read(self, key: str) -> bytes:
        return self.client.get_object(Bucket=self.bucket, Key=self._full(key))["Body"].read()

    def write(self, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self._full(key), Body=data)


def open_store(url: str) -> LandingStore:
    """A store for ``s3://bucket/prefix`` or a local folder path (``file://`` optional)."""
    if url.startswith("s3://"):
        return S3Store(url)
    return LocalStore(Path(url.removeprefix("file://")))
