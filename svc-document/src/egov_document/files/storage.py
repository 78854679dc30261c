"""Where file bytes live: a local directory or an S3-compatible object store, behind one interface.

Both stream: memory does not grow with file size. Keys are content hashes, so a blob is written once and never
changes; with S3 any number of replicas serve the same files.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Protocol

from botocore.exceptions import ClientError

CHUNK = 256 * 1024


class FileStorage(Protocol):
    async def put_file(self, key: str, source: Path, content_type: str) -> None:
        """Store the finished upload at ``source`` under ``key`` (the source may be moved away)."""

    def read(self, key: str) -> AsyncIterator[bytes]: ...

    async def exists(self, key: str) -> bool: ...

    async def ready(self) -> bool: ...


class LocalStorage:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        # Keys are hex digests: spread them over subdirectories like git does.
        return self.root / key[:2] / key

    async def put_file(self, key: str, source: Path, content_type: str) -> None:
        target = self._path(key)
        await asyncio.to_thread(target.parent.mkdir, parents=True, exist_ok=True)
        await asyncio.to_thread(os.replace, source, target)

    async def read(self, key: str) -> AsyncIterator[bytes]:
        handle = await asyncio.to_thread(self._path(key).open, "rb")
        try:
            while chunk := await asyncio.to_thread(handle.read, CHUNK):
                yield chunk
        finally:
            await asyncio.to_thread(handle.close)

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self._path(key).exists)

    async def ready(self) -> bool:
        return await asyncio.to_thread(os.access, self.root, os.W_OK)


class S3Storage:
    """An S3 bucket (AWS, MinIO, or moto's server in tests); multipart uploads for large files."""

    def __init__(
        self,
        *,
        bucket: str,
        endpoint_url: str | None,
        region: str,
        access_key_id: str | None,
        secret_access_key: str | None,
    ) -> None:
        # Imported here: aioboto3 takes seconds to import, and the local store (the default) never needs it.
        import aioboto3
        from botocore.config import Config as BotoConfig

        self.bucket = bucket
        self._session = aioboto3.Session(
            aws_access_key_id=access_key_id, aws_secret_access_key=secret_access_key, region_name=region
        )
        self._client_args: dict[str, Any] = {
            "endpoint_url": endpoint_url,
            "config": BotoConfig(
                retries={"max_attempts": 3, "mode": "standard"}, s3={"addressing_style": "path"}
            ),
        }

    async def ensure_bucket(self) -> None:
        async with self._session.client("s3", **self._client_args) as s3:
            try:
                await s3.head_bucket(Bucket=self.bucket)
            except ClientError:
                await s3.create_bucket(
                    Bucket=self.bucket,
                    CreateBucketConfiguration={"LocationConstraint": self._session.region_name},
                )

    async def put_file(self, key: str, source: Path, content_type: str) -> None:
        async with self._session.client("s3", **self._client_args) as s3:
            # upload_file streams from disk and switches to multipart for large files.
            await s3.upload_file(str(source), self.bucket, key, ExtraArgs={"ContentType": content_type})
        await asyncio.to_thread(source.unlink, missing_ok=True)

    async def read(self, key: str) -> AsyncIterator[bytes]:
        async with self._session.client("s3", **self._client_args) as s3:
            response = await s3.get_object(Bucket=self.bucket, Key=key)
            stream = response["Body"]
            async with stream:  # entering gives the raw response; the stream object is what iterates
                async for chunk in stream.iter_chunks(CHUNK):
                    yield chunk

    async def exists(self, key: str) -> bool:
        async with self._session.client("s3", **self._client_args) as s3:
            try:
                await s3.head_object(Bucket=self.bucket, Key=key)
            except ClientError:
                return False
            return True

    async def ready(self) -> bool:
        try:
            async with self._session.client("s3", **self._client_args) as s3:
                await s3.head_bucket(Bucket=self.bucket)
        except Exception:
            return False
        return True
