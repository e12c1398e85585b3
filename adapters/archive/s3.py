"""The S3 audit sink: every object written once, under Object Lock retention (ARCH-04).

    artifacts:
      audit:
        s3: {bucket: floe-audit, prefix: prod-ledger, retention_days: 2555, mode: compliance}

Each object is PUT with ``ObjectLockMode`` (COMPLIANCE or GOVERNANCE) and
``ObjectLockRetainUntilDate`` = now + ``retention_days``, and a ``sha256`` metadata entry.
A key that already holds the same bytes is not written again. The bucket must have been
created with Object Lock enabled (versioning on). Credentials come only from boto3's
standard chain (environment, shared config and credentials files, SSO, instance or
container roles); the manifest holds none and floe prints none. boto3 is the optional extra
``s3`` (``pip install floe-ledger[s3]``) and is imported only when an S3 sink is built.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError

from floe_ledger.adapters.archive.objects import PREFIXES
from floe_ledger.domain.model.config import S3ArchiveConfig
from floe_ledger.domain.model.errors import ConfigError, UsageError, quoted
from floe_ledger.domain.services.audit_sinks import KINDS, ArchiveObject, SinkContext

INSTALL_HINT = "pip install floe-ledger[s3]"


def _client(config: S3ArchiveConfig) -> Any:
    try:
        import boto3
        from botocore.config import Config
    except ImportError as err:
        raise ConfigError("artifacts.audit.s3 needs boto3, which is not installed",
                          hint=f"install the s3 extra: {INSTALL_HINT}") from err
    settings = Config(connect_timeout=3, read_timeout=15,
                      retries={"max_attempts": 2, "mode": "standard"})
    return boto3.session.Session().client("s3", endpoint_url=config.endpoint_url,
                                          region_name=config.region, config=settings)


class S3Sink:
    """Objects in ``s3://bucket/prefix/``, each under Object Lock retention."""

    name = "s3"

    def __init__(self, config: S3ArchiveConfig, client: Any | None = None) -> None:
        self.config = config
        self.client = client if client is not None else _client(config)

    def location(self) -> str:
        return f"s3://{self.config.bucket}/{self.config.prefix}".rstrip("/")

    def accepts(self, kind: str) -> bool:
        return kind in KINDS

    def _full(self, key: str) -> str:
        return f"{self.config.prefix}/{key}" if self.config.prefix else key

    def _stored_sha256(self, key: str) -> str | None:
        from botocore.exceptions import ClientError

        try:
            head = self.client.head_object(Bucket=self.config.bucket, Key=self._full(key))
        except ClientError as err:
            if str(err.response.get("Error", {}).get("Code")) in ("404", "NoSuchKey",
                                                                  "NotFound"):
                return None
            raise
        return str(head.get("Metadata", {}).get("sha256", ""))

    def put(self, obj: ArchiveObject) -> bool:
        """PUT under retention, unless the key already holds these bytes."""
        if self._stored_sha256(obj.key) == obj.sha256:
            return False
        until = datetime.now(UTC) + timedelta(days=self.config.retention_days)
        self.client.put_object(
            Bucket=self.config.bucket, Key=self._full(obj.key), Body=obj.body,
            ContentType="application/x-ndjson" if obj.kind == "events" else "application/json",
            Metadata={"sha256": obj.sha256}, ChecksumAlgorithm="SHA256",
            ObjectLockMode=self.config.mode.upper(), ObjectLockRetainUntilDate=until)
        return True

    def keys(self, kind: str) -> Iterator[str]:
        start = len(self._full(""))
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.config.bucket, Prefix=self._full(PREFIXES[kind]))
        for page in pages:
            for item in page.get("Contents", []):
                yield str(item["Key"])[start:]

    def get(self, key: str) -> bytes:
        answer = self.client.get_object(Bucket=self.config.bucket, Key=self._full(key))
        return bytes(answer["Body"].read())


def make_sink(settings: Mapping[str, Any], context: SinkContext) -> S3Sink:
    """The ``floe.audit_sinks`` entry point ``s3``."""
    try:
        config = S3ArchiveConfig(**dict(settings))
    except ValidationError as err:
        raise ConfigError(f"artifacts.audit.s3: {err.errors()[0]['msg']}",
                          hint="see 'floe schema' and the README's audit archive section") from err
    return S3Sink(config)


def reader_for_url(url: str, configured: S3ArchiveConfig | None) -> S3Sink:
    """A sink to read ``s3://bucket/prefix`` (endpoint and region from the manifest's s3
    settings when they name the same bucket)."""
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc:
        raise UsageError(f"--archive: {quoted(url)} is not of the form s3://bucket/prefix",
                         hint="e.g. --archive s3://floe-audit/prod-ledger")
    same = configured is not None and configured.bucket == parts.netloc
    try:
        config = S3ArchiveConfig(
            bucket=parts.netloc, prefix=parts.path.strip("/"), retention_days=1,
            endpoint_url=configured.endpoint_url if same and configured else None,
            region=configured.region if same and configured else None)
    except ValidationError as err:
        raise UsageError(f"--archive: {quoted(parts.netloc)} is not a bucket name",
                         hint="3 to 63 lower-case letters, digits, dots and hyphens") from err
    return S3Sink(config)
