"""Reading the distribution API's listings: tag-list pages and referrers answers.

Both are answers a hostile registry may shape: pages are followed on the registry's own
origin only (the transport refuses others), never in a loop, and within
:data:`TAG_LIST_MAX_BYTES` together; a referrers answer must be an OCI image index.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx

from floe_ledger.adapters.registry._common import index_entries, tag_list
from floe_ledger.adapters.registry._http import RegistryHttp
from floe_ledger.domain.model.errors import FloeError, RegistryUnavailableError

MAX_TAG_PAGES = 10_000
TAG_LIST_MAX_BYTES = 64 * 1024 * 1024  # all tag-list pages together (each is capped too)


def read_tag_pages(http: RegistryHttp, first: str, uri: str,
                   fail: Callable[[httpx.Response, str], FloeError]) -> list[str]:
    """Every tag of the pages from ``first`` on; [] if the repository does not exist.

    Args:
        http: the registry's transport.
        first: the path of the first page.
        uri: the repository, for messages.
        fail: the error for an unexpected answer.
    """
    tags: list[str] = []
    url: str | httpx.URL = first
    seen: set[str] = set()
    received = 0
    for _ in range(MAX_TAG_PAGES):
        response = http.request("GET", url)
        if response.status_code == 404:
            return tags
        if response.status_code != 200:
            raise fail(response, "list tags")
        received += len(response.content)
        if received > TAG_LIST_MAX_BYTES:
            raise RegistryUnavailableError(
                f"the tag list of {uri} is larger than {TAG_LIST_MAX_BYTES} bytes",
                hint="a tag list this large is refused so it cannot exhaust memory",
                details={"limit": TAG_LIST_MAX_BYTES},
            )
        tags.extend(tag_list(response.content, f"the tag list of {uri}"))
        seen.add(str(response.url))
        link = response.links.get("next", {}).get("url")
        if not link:
            break
        url = response.url.join(link)
        if str(url) in seen:
            raise RegistryUnavailableError(
                f"the tag list of {uri} pages in a loop (its Link header points back)",
                hint="the registry (or a proxy in front of it) paginates wrongly; check it",
            )
    return tags


def referrers_index(response: httpx.Response, digest: str, uri: str) -> bytes | None:
    """The OCI image index a referrers-API answer holds; None when the API is absent or
    failing (any status but 200 or 404, or an empty body).

    Raises:
        RegistryUnavailableError: a 200 answer that is not an image index.
    """
    if response.status_code not in (200, 404) or not response.content:
        return None
    try:
        index_entries(response.content, "referrers answer")
    except FloeError:
        if response.status_code == 200:
            raise RegistryUnavailableError(
                f"the referrers API of {uri} answered {digest} with something that is not "
                "an OCI image index",
                hint="the registry (or a proxy in front of it) answers the referrers API "
                "wrongly; check it",
                details={"repository": uri, "subject": digest},
            ) from None
        return None
    return response.content
