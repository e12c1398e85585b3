"""A real S3-compatible server on 127.0.0.1 for the archive tests: moto's standalone server.

    server = start_s3()                      # a free port; stop() and start() keep the port
    bucket = server.bucket()                 # a fresh bucket with Object Lock enabled
    server.client().head_object(Bucket=bucket, Key=...)

The floe under test reaches it over HTTP like any S3 endpoint (``endpoint_url`` in
manifest.yaml) with dummy credentials from the standard AWS chain (CREDENTIALS, set in the
environment of the test process and of every `floe` it runs). moto keeps its buckets in
the test process, so a server started again on the same port serves the same buckets: the
"archive was down, then came back" case.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass, field
from typing import Any

import boto3
from moto.server import ThreadedMotoServer

from support.registry_server import free_port

REGION = "us-east-1"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "floe-test-key-id",
               "AWS_SECRET_ACCESS_KEY": "floe-test-secret-access-key",
               "AWS_DEFAULT_REGION": REGION}
_buckets = itertools.count()


@dataclass
class S3Server:
    """A moto S3 server on 127.0.0.1:port."""

    port: int
    server: ThreadedMotoServer | None = field(default=None, repr=False)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> S3Server:
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self.server.start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None

    def client(self) -> Any:
        return boto3.session.Session(
            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        ).client("s3", endpoint_url=self.endpoint, region_name=REGION)

    def bucket(self) -> str:
        """A fresh bucket with Object Lock enabled (and so versioning)."""
        name = f"floe-archive-{os.getpid()}-{next(_buckets)}"
        self.client().create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
        return name

    def archive_config(self, bucket: str, prefix: str = "ledger", days: int = 30,
                       mode: str = "compliance") -> dict[str, Any]:
        """``artifacts.audit`` for a manifest archiving to ``bucket`` on this server."""
        return {"s3": {"bucket": bucket, "prefix": prefix, "retention_days": days,
                       "mode": mode, "endpoint_url": self.endpoint, "region": REGION}}

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket,
                                                                        Prefix=prefix)
        return [item["Key"] for page in pages for item in page.get("Contents", [])]


def start_s3(port: int | None = None) -> S3Server:
    """A running server (on a free port unless given)."""
    return S3Server(port or free_port()).start()
