"""A distribution registry's referrers: the OCI 1.1 API where it has one, else the
``sha256-<hex>`` fallback index (:mod:`._fallback`), with as few round trips as possible.

Whether the registry has the API is asked once per client (the answer is kept). While it is
not known yet, a listing asks the API and reads the fallback index at once: on a registry
without the API (distribution 2.x) that costs no more requests than asking in turn and one
round trip less; calls made meanwhile on other threads read their fallback index at once
too, and wait for the one question to the API. Attaching a referrer where the API is known
to be absent PUTs the manifest and reads the fallback index at once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import httpx

from floe_ledger.adapters.registry._common import filter_referrers, index_entries
from floe_ledger.adapters.registry._fallback import (
    UNREAD,
    Unread,
    add_to_fallback,
    read_fallback,
    read_index,
)
from floe_ledger.adapters.registry._http import RegistryHttp
from floe_ledger.adapters.registry._listing import referrers_index
from floe_ledger.adapters.system.parallel import pair
from floe_ledger.domain.model.errors import FloeError
from floe_ledger.domain.model.oci import OCI_INDEX, Descriptor, Manifest
from floe_ledger.domain.services.ports import Registry


class _Outcome:
    """A call's result or its error, kept to be used (or dropped) later."""

    def __init__(self, call: Callable[[], Any]) -> None:
        self.value: Any = None
        self.error: BaseException | None = None
        try:
            self.value = call()
        except Exception as exc:
            self.error = exc

    def get(self) -> Any:
        if self.error is not None:
            raise self.error
        return self.value


class Referrers:
    """The referrers of one repository's subjects, and attaching new ones.

    Args:
        registry: the repository (its manifests are read and written through it).
        http: its transport.
        path: ``path("referrers", digest)`` -> the API path.
        fail: the error for an unexpected answer.
        sleep: the pause between fallback-index attempts.
    """

    def __init__(self, registry: Registry, http: RegistryHttp, path: Callable[[str, str], str],
                 fail: Callable[[httpx.Response, str], FloeError],
                 sleep: Callable[[float], None]) -> None:
        self._registry, self._http, self._path = registry, http, path
        self._fail, self._sleep = fail, sleep
        self.api: bool | None = None  # whether the registry serves the API; None: not asked
        self._asking = threading.Lock()

    def listing(self, digest: str, artifact_type: str | None) -> list[Descriptor]:
        """Referrers of ``digest`` (filtered by ``artifact_type`` if given)."""
        if self.api is None:
            answer, listed = pair(lambda: self._ask_once(digest, artifact_type),
                                  lambda: _Outcome(lambda: read_fallback(
                                      self._registry, digest, artifact_type)))
            if answer is not None:
                return answer  # this call asked: the API answered
            if self.api is False:
                return listed.get()
        if self.api:
            found = self._from_api(digest, artifact_type)
            if found is not None:
                return found
        return read_fallback(self._registry, digest, artifact_type)

    def _ask_once(self, digest: str, artifact_type: str | None) -> list[Descriptor] | None:
        """Ask the API, unless another thread settled whether it exists meanwhile (None
        then, and when the registry has no API)."""
        with self._asking:
            if self.api is not None:
                return None
            return self._from_api(digest, artifact_type)

    def _from_api(self, digest: str, artifact_type: str | None) -> list[Descriptor] | None:
        params = {"artifactType": artifact_type} if artifact_type else None
        response = self._http.request("GET", self._path("referrers", digest), params=params,
                                      headers={"Accept": OCI_INDEX})
        index = referrers_index(response, digest, self._registry.uri)
        if index is None and response.status_code in (400, 404, 405):
            self.api = False
            return None
        if index is None:
            raise self._fail(response, f"list referrers of {digest}")
        self.api = True
        return filter_referrers(index_entries(response.content, "referrers answer"),
                                artifact_type)

    def attach(self, subject: str, entry: Descriptor, manifest: Manifest,
               put: Callable[[], httpx.Response]) -> None:
        """``put()`` stores the referrer manifest by digest; then make it discoverable."""
        current: dict[str, Any] | Unread | None = UNREAD
        if self.api is False:  # the fallback index is read while the manifest is stored
            response, current = pair(put, lambda: read_index(self._registry, subject))
        else:
            response = put()
        if response.headers.get("OCI-Subject"):
            self.api = True
            return
        if self.api is None:
            self._ask_once(subject, None)
        if not self.api:
            add_to_fallback(self._registry, subject, entry, sleep=self._sleep, current=current)
