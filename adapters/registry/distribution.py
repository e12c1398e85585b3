"""The Registry port over the OCI distribution HTTP API (distribution, Harbor, GHCR, ECR...).

Example::

    registry = DistributionRegistry("127.0.0.1:5000", "acme/app", plain_http=True)
    source = registry.get_manifest("v1.2.3-dev")          # 1 GET
    registry.put_manifest("v1.2.3-staging", source)       # 1 PUT, same bytes and digest
    registry.close()

Manifests are copied byte for byte with their own Content-Type, and every digest
the registry reports is checked.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import httpx

from floe_ledger.adapters.registry._blob_stream import open_blob, upload_blob
from floe_ledger.adapters.registry._common import (
    check_manifest_target,
    check_reference,
    check_sha256,
    check_tag_only,
    is_digest,
    manifest_media_type,
    referrer_descriptor,
    verify_digest,
    verify_file,
)
from floe_ledger.adapters.registry._errors import (
    delete_refused,
    immutable_refusal,
    registry_error,
    tag_refused,
)
from floe_ledger.adapters.registry._http import (
    BLOB_MAX_BYTES,
    BODY_DEADLINE_S,
    DEFAULT_TIMEOUT_S,
    MANIFEST_MAX_BYTES,
    RegistryHttp,
)
from floe_ledger.adapters.registry._http_auth import CredentialSource
from floe_ledger.adapters.registry._listing import read_tag_pages
from floe_ledger.adapters.registry._referrers import Referrers
from floe_ledger.adapters.registry.auth import Credentials
from floe_ledger.domain.model.blobs import BlobOpener, BlobStream
from floe_ledger.domain.model.errors import (
    FloeError,
    IntegrityError,
    NotFoundError,
)
from floe_ledger.domain.model.oci import (
    MANIFEST_MEDIA_TYPES,
    Descriptor,
    Manifest,
    sha256_digest,
)
from floe_ledger.domain.model.values import DIGEST_RE

ACCEPT = {"Accept": ", ".join(MANIFEST_MEDIA_TYPES)}
ASK_FIRST_BYTES = 256 * 1024
"""Blobs larger than this are looked for (HEAD) before they are uploaded; smaller ones are
sent at once (records, signatures, configs: new content nearly always)."""


class DistributionRegistry:
    """One repository in an OCI distribution registry, over one kept-alive httpx client.

    Args:
        host: ``name[:port]`` of the registry.
        repository: the repository path, e.g. ``acme/floe-platform``.
        credentials: credentials, a function returning them (called on the first
            auth challenge), or None for anonymous access.
        plain_http: talk http instead of https (loopback and test registries).
        ca_file: PEM bundle of the CA that signed the registry's certificate.
        insecure_hosts: ``host[:port]`` names whose http token realm may receive
            credentials from a plain-http registry (``insecure_registries``).
        transport: an httpx transport to use instead of the network (tests).
        sleep: the pause between retries (tests).
        body_deadline_s: the longest a whole answer body may take (tests shorten it).
        timeout: seconds to wait for an answer to one request.
    """

    def __init__(
        self,
        host: str,
        repository: str,
        *,
        credentials: Credentials | CredentialSource | None = None,
        plain_http: bool = False,
        ca_file: Path | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        insecure_hosts: frozenset[str] = frozenset(),
        body_deadline_s: float = BODY_DEADLINE_S,
        timeout: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        source: CredentialSource = (
            credentials if callable(credentials) else (lambda: credentials)
        )
        self._http = RegistryHttp(
            host=host, repository=repository, credentials=source, plain_http=plain_http,
            ca_file=ca_file, transport=transport, sleep=sleep, insecure_hosts=insecure_hosts,
            body_deadline_s=body_deadline_s,
            timeout=timeout,
        )
        self._repository = repository
        self._referrers = Referrers(self, self._http, self._path, self._fail, sleep)
        self._probed_identity = False

    @property
    def uri(self) -> str:
        """``oci://host/repository`` (never with credentials)."""
        return f"oci://{self._http.host}/{self._repository}"

    def _path(self, kind: str, reference: str = "") -> str:
        return f"/v2/{self._repository}/{kind}/{reference}"

    def _fail(self, response: httpx.Response, what: str) -> FloeError:
        return registry_error(response, what, self.uri)

    def resolve(self, reference: str) -> Descriptor | None:
        """Descriptor of the manifest ``reference`` names (HEAD), or None if absent."""
        ref = check_reference(reference)
        response = self._http.request("HEAD", self._path("manifests", ref), headers=ACCEPT)
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise self._fail(response, f"HEAD manifest {ref}")
        digest = response.headers.get("Docker-Content-Digest")
        media_type = _media_type(response)
        size = response.headers.get("Content-Length")
        if not digest or not media_type or size is None or not size.isdigit():
            return self.get_manifest(ref).descriptor
        if not DIGEST_RE.match(digest):
            raise IntegrityError(
                f"{self.uri}: HEAD {ref} answered {digest[:80]!r}, not a sha256 digest",
                hint="the registry or a proxy is inconsistent",
            )
        if is_digest(ref) and digest != ref:
            raise IntegrityError(
                f"{self.uri}: HEAD {ref} answered digest {digest}",
                hint="the registry or a proxy is inconsistent",
            )
        return Descriptor(media_type, digest, int(size))

    def get_manifest(self, reference: str) -> Manifest:
        """The exact manifest bytes; their sha256 is checked. NotFoundError if absent."""
        ref = check_reference(reference)
        response = self._http.request(
            "GET", self._path("manifests", ref), headers=ACCEPT, max_bytes=MANIFEST_MAX_BYTES
        )
        if response.status_code == 404:
            raise NotFoundError(
                f"manifest {ref} not found in {self.uri}",
                hint="check the tag or digest (floe status lists what exists)",
                details={"reference": ref, "repository": self.uri},
            )
        if response.status_code != 200:
            raise self._fail(response, f"GET manifest {ref}")
        data = response.content
        digest = sha256_digest(data)
        what = f"manifest {ref} in {self.uri}"
        if header := response.headers.get("Docker-Content-Digest"):
            verify_digest(data, header, what)
        if is_digest(ref):
            verify_digest(data, ref, what)
        return Manifest(digest, manifest_media_type(_media_type(response), data, what), data)

    def put_manifest(self, reference: str, manifest: Manifest) -> str:
        """PUT ``manifest.data`` byte for byte under a tag or its digest.

        Returns:
            The digest the registry reports (checked to equal ``manifest.digest``).
        """
        return self._put_manifest(reference, manifest)[0]

    def _put_manifest(self, reference: str, manifest: Manifest) -> tuple[str, httpx.Response]:
        ref = check_manifest_target(reference, manifest)
        response = self._http.request(
            "PUT", self._path("manifests", ref), content=manifest.data,
            headers={"Content-Type": manifest.media_type},
        )
        if response.status_code not in (200, 201):
            if not is_digest(ref) and immutable_refusal(response):
                raise tag_refused(response, ref, self.uri)
            raise self._fail(response, f"PUT manifest {ref}")
        reported = response.headers.get("Docker-Content-Digest", manifest.digest)
        if reported != manifest.digest:
            raise IntegrityError(
                f"{self.uri}: stored {ref} as {reported}, expected {manifest.digest}",
                hint="the registry rewrote the manifest; it cannot be promoted by retagging",
                details={"expected": manifest.digest, "actual": reported},
            )
        return reported, response

    def delete_tag(self, tag: str) -> bool:
        """Delete ``tag`` alone: ``DELETE /v2/<name>/manifests/<tag>`` (OCI distribution
        spec); the manifest and its other tags stay. False if the tag was not there.

        Never deletes by digest (that removes every tag of the manifest). A registry that
        answers 400 or 405 (distribution 2.x: DIGEST_INVALID, UNSUPPORTED) cannot delete a
        tag on its own: TagDeleteUnsupportedError, and nothing was deleted.
        """
        ref = check_tag_only(tag)
        response = self._http.request("DELETE", self._path("manifests", ref))
        if response.status_code in (200, 202, 204):
            return True
        if response.status_code == 404 and self.resolve(ref) is None:
            return False
        raise delete_refused(response, ref, self.uri)

    def list_tags(self) -> list[str]:
        """Every tag, following ``Link`` pagination; [] if the repository does not exist.

        A ``Link`` to another origin, pages in a loop, a page that is not a tag list, and
        pages adding up to more than :data:`TAG_LIST_MAX_BYTES` are refused
        (RegistryUnavailableError).
        """
        return read_tag_pages(self._http, self._path("tags", "list"), self.uri, self._fail)

    def has_blob(self, digest: str) -> bool:
        """Whether the repository holds the blob."""
        response = self._http.request("HEAD", self._path("blobs", check_sha256(digest)))
        if response.status_code in (200, 307):
            return True
        if response.status_code == 404:
            return False
        raise self._fail(response, f"HEAD blob {digest}")

    def get_blob(self, digest: str) -> bytes:
        """The blob's bytes, checked against ``digest``. NotFoundError if absent."""
        path = self._path("blobs", check_sha256(digest))
        response = self._http.request(
            "GET", path, follow_redirects=True, max_bytes=BLOB_MAX_BYTES
        )
        if response.status_code != 200:
            raise self._fail(response, f"GET blob {digest}")
        verify_digest(response.content, digest, f"blob in {self.uri}")
        return response.content

    def copy_blob(self, digest: str, size: int, out: BinaryIO) -> None:
        """Stream the blob into ``out`` (never whole in memory), refusing more than ``size``
        bytes, then check its size and digest (IntegrityError). NotFoundError if absent."""
        path = self._path("blobs", check_sha256(digest))
        response = self._http.request(
            "GET", path, follow_redirects=True, max_bytes=size, sink=out
        )
        if response.status_code != 200:
            raise self._fail(response, f"GET blob {digest}")
        verify_file(out, digest, size, f"blob in {self.uri}")

    def open_blob(self, digest: str, size: int) -> BlobStream:
        """The blob as a stream checked while read (one GET; iterate it, then close it).
        NotFoundError if absent; IntegrityError if its bytes are not ``size``/``digest``."""
        path = self._path("blobs", check_sha256(digest))
        return open_blob(self._http, path, digest, size, self.uri, self._fail,
                         self._http.body_deadline_s)

    def put_blob_from(self, digest: str, size: int, opener: BlobOpener,
                      media_type: str = "application/octet-stream") -> str:
        """Upload the blob ``opener`` streams: one PUT with the whole body where the
        registry takes it, else PATCH chunks (:mod:`._blob_stream`); never whole in memory.
        IntegrityError, and nothing stored under ``digest``, if the bytes do not match."""
        return upload_blob(self._http, self._path("blobs", "uploads/"), check_sha256(digest),
                           size, opener, self._fail, self.has_blob)

    def put_blob(self, data: bytes, media_type: str = "application/octet-stream") -> str:
        """Upload a blob monolithically: POST ``?digest=`` with the bytes (one request where
        the registry takes a single-POST upload), else the one PUT ``?digest=`` to the
        upload the POST opened. A blob larger than :data:`ASK_FIRST_BYTES` is skipped if
        the registry has it (HEAD first); a small one is sent without asking, which costs
        no more than asking would.

        A PUT whose answer was lost (a timeout or a cut connection) is retried, and the
        registry then no longer knows the upload (404 ``BLOB_UPLOAD_UNKNOWN``): if the blob
        is there, the first PUT did land and the upload is done.
        """
        digest = sha256_digest(data)
        small = len(data) <= ASK_FIRST_BYTES
        if not small and self.has_blob(digest):
            return digest
        octets = {"Content-Type": "application/octet-stream"}
        started = self._http.request(
            "POST", self._path("blobs", "uploads/"), params={"digest": digest} if small else None,
            content=data if small else None, headers=octets if small else None)
        if small and started.status_code == 201:
            return digest
        location = started.headers.get("Location")
        if started.status_code != 202 or not location:
            raise self._fail(started, "start blob upload")
        target = httpx.URL(self._http.base_url).join(location).copy_merge_params({"digest": digest})
        response = self._http.request("PUT", target, content=data, headers=octets)
        if response.status_code == 404 and self.has_blob(digest):
            return digest
        if response.status_code not in (201, 204):
            raise self._fail(response, f"upload blob {digest}")
        return digest

    def mount_blob(self, digest: str, from_repository: str) -> bool:
        """Mount a blob from another repository of the same registry.

        Returns:
            True if the registry mounted it (201); False if it did not (upload it then).
        """
        response = self._http.request(
            "POST", self._path("blobs", "uploads/"),
            params={"mount": check_sha256(digest), "from": from_repository},
            scopes=(f"repository:{from_repository}:pull",),
        )
        if response.status_code == 201:
            return True
        if response.status_code != 202:
            raise self._fail(response, f"mount blob {digest} from {from_repository}")
        if location := response.headers.get("Location"):
            self._http.request("DELETE", location)  # cancel the upload the registry opened
        return False

    def referrers(self, digest: str, artifact_type: str | None = None) -> list[Descriptor]:
        """Referrers of ``digest``: the referrers API if the registry has it, else the
        ``sha256-<hex>`` fallback index; filtered by ``artifact_type`` if given."""
        return self._referrers.listing(check_sha256(digest), artifact_type)

    @property
    def referrers_api(self) -> bool | None:
        """Whether the registry serves the OCI 1.1 referrers API (None: not asked yet)."""
        return self._referrers.api

    def attach_referrer(self, subject: str, manifest: Manifest, artifact_type: str) -> None:
        """PUT a referrer by digest and make it discoverable (API or fallback index)."""
        entry = referrer_descriptor(manifest, artifact_type, check_sha256(subject))
        self._referrers.attach(subject, entry, manifest,
                               lambda: self._put_manifest(manifest.digest, manifest)[1])

    def authenticated_user(self) -> str | None:
        """The username the registry accepted; checks the credentials once if need be."""
        http = self._http
        if http.accepted_user is None and not self._probed_identity and http.credentials:
            self._probed_identity = True
            response = http.request("GET", "/v2/")
            if response.status_code != 200:
                raise self._fail(response, "check credentials")
        return http.accepted_user

    def close(self) -> None:
        """Close the HTTP client."""
        self._http.close()


def _media_type(response: httpx.Response) -> str:
    return str(response.headers.get("Content-Type", "")).split(";", 1)[0].strip()

