"""Issue 13 item 4, in process and generated: registry answers of any shape reach floe's
registry adapter (over real HTTP from :class:`HostileServer`) and every reader that parses
them (pull, referrers, record reader and listing, tag list). Each must return well-typed
values or raise a FloeError (a documented exit code), never anything else: that would be
exit 1 with a traceback. A body that drips in too slowly is cut off at its deadline.

The generated cases are counted and printed (``EXAMPLES`` per reader).
"""

from __future__ import annotations

import contextlib
import json
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from floe_ledger.adapters.records import read_record
from floe_ledger.adapters.records.listed import env_records
from floe_ledger.adapters.records.reader import OciRecordReader
from floe_ledger.adapters.registry.distribution import DistributionRegistry
from floe_ledger.adapters.registry.pull import pull_files
from floe_ledger.domain.model.errors import FloeError, RegistryUnavailableError
from floe_ledger.domain.model.oci import Descriptor
from floe_ledger.domain.model.values import DIGEST_RE, TAG_RE
from support.hostile_cases import INDEX, OCI, PROMOTION, layer, made_up, sha
from support.hostile_server import HostileServer, drip
from support.tables import add_row

REPO = "acme/app"
TABLE = "Hostile input fuzzing, registry side (issue 13 item 4)"
EXAMPLES = 100
KEYS = ["layers", "annotations", "digest", "size", "mediaType", "artifactType", "subject",
        "manifests", "tags", "schemaVersion", "org.opencontainers.image.title", "config",
        "schema", "kind", "artifact_digest", "ledger_head", "ledger_id", "operator"]
scalars = (st.none() | st.booleans() | st.integers(-(2**70), 2**70)
           | st.floats(allow_nan=False) | st.text(max_size=12) | st.sampled_from(
               ["sha256:" + "a" * 64, "../x", "v1.0.0", PROMOTION, OCI, "", "\ud800"]))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
    st.sampled_from(KEYS) | st.text(max_size=6), inner, max_size=5), max_leaves=16)


def _mutated(valid: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """A valid document with some of its fields replaced by generated values."""
    return st.dictionaries(st.sampled_from([*valid, *KEYS]), values, max_size=3).map(
        lambda patch: valid | patch)


def bodies(valid: dict[str, Any]) -> st.SearchStrategy[bytes]:
    return st.one_of(_mutated(valid).map(lambda d: json.dumps(d).encode()),
                     values.map(lambda v: json.dumps(v).encode()), st.binary(max_size=120))


VALID_MANIFEST = json.loads(made_up([layer("a.txt", b"a")]))
VALID_INDEX = {"schemaVersion": 2, "mediaType": INDEX, "manifests": [
    {"mediaType": OCI, "digest": sha(b"r"), "size": 10, "artifactType": PROMOTION}]}
VALID_RECORD = {"schemaVersion": 2, "mediaType": OCI, "artifactType": PROMOTION,
                "subject": {"mediaType": OCI, "digest": sha(b"s"), "size": 2},
                "layers": [{"mediaType": PROMOTION, "digest": sha(b"{}"), "size": 2}],
                "annotations": {"dev.floe.promotion.id": "p1"}}
VALID_CONTENT = {"schema": "dev.floe.promotion.v1", "kind": "promotion",
                 "artifact_digest": sha(b"s"), "target_environment": "dev",
                 "operator": "x", "version": "v1.0.0", "ledger_head": {"ledger_id": "L"}}


@pytest.fixture(scope="module")
def server() -> Iterator[HostileServer]:
    with HostileServer() as hostile:
        yield hostile


def _registry(server: HostileServer, **kw: Any) -> DistributionRegistry:
    return DistributionRegistry(server.host, REPO, plain_http=True, sleep=lambda _s: None,
                                **kw)


def _serve(server: HostileServer, path: str, body: bytes, content_type: str = OCI,
           method: str = "GET") -> None:
    server.route(method, f"/v2/{REPO}/{path}", 200,
                 {"Content-Type": content_type, "Docker-Content-Digest": sha(body)}, body)


def _generated(strategy: st.SearchStrategy[Any], check: Callable[[Any], None]) -> int:
    """Run ``check`` on EXAMPLES generated values; returns how many ran."""
    ran = 0

    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow])
    @given(strategy)
    def run(value: Any) -> None:
        nonlocal ran
        ran += 1
        check(value)

    run()
    return ran


def _descriptors_ok(found: list[Descriptor]) -> None:
    for d in found:
        assert isinstance(d.digest, str) and isinstance(d.size, int) and d.size >= 0
        assert d.artifact_type is None or isinstance(d.artifact_type, str)
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in d.annotations.items())


@pytest.mark.requirement("FR-032")
def test_any_manifest_a_registry_serves_is_pulled_inside_or_refused(
        server: HostileServer) -> None:
    registry = _registry(server)

    def check(body: bytes) -> None:
        server.clear()
        server.route("HEAD", f"/v2/{REPO}/manifests/v1.0.0", 200,
                     {"Content-Type": OCI, "Docker-Content-Digest": sha(body)},
                     length=len(body))
        _serve(server, f"manifests/{sha(body)}", body)
        server.route("GET", f"/v2/{REPO}/blobs/", 200, {}, b"a")
        with tempfile.TemporaryDirectory() as tmp:
            dest = Path(tmp) / "out"
            try:
                written = pull_files(registry, registry.resolve("v1.0.0").digest, dest)
            except FloeError:
                written = []
            assert all(p.parent == dest for p in written)
            assert sorted(p.name for p in Path(tmp).iterdir()) in ([], ["out"])

    ran = _generated(bodies(VALID_MANIFEST), check)
    add_row(TABLE, "manifests served to pull", {"generated cases": ran, "tracebacks": 0})


@pytest.mark.requirement("FR-032")
def test_any_referrers_answer_gives_descriptors_or_a_floe_error(server: HostileServer) -> None:
    subject = sha(b"subject")

    def check(case: tuple[bytes, bool]) -> None:
        body, via_api = case
        server.clear()
        if via_api:
            server.route("GET", f"/v2/{REPO}/referrers/", 200, {"Content-Type": INDEX}, body)
        else:
            _serve(server, f"manifests/{subject.replace(':', '-')}", body, INDEX)
        with contextlib.suppress(FloeError):
            _descriptors_ok(_registry(server).referrers(subject))

    ran = _generated(st.tuples(bodies(VALID_INDEX), st.booleans()), check)
    add_row(TABLE, "referrers answers (API and fallback index)",
            {"generated cases": ran, "tracebacks": 0})


@pytest.mark.requirement("FR-032")
def test_any_record_a_registry_serves_is_read_or_rejected(server: HostileServer) -> None:
    registry = _registry(server)
    subject = sha(b"s")

    def check(case: tuple[bytes, bytes]) -> None:
        record, content = case
        server.clear()
        server.route("HEAD", f"/v2/{REPO}/manifests/v1.0.0-dev", 200,
                     {"Content-Type": OCI, "Docker-Content-Digest": subject}, length=2)
        index = {"schemaVersion": 2, "mediaType": INDEX, "manifests": [
            {"mediaType": OCI, "digest": sha(record), "size": len(record),
             "artifactType": PROMOTION}]}
        _serve(server, f"manifests/{subject.replace(':', '-')}", json.dumps(index).encode(),
               INDEX)
        _serve(server, f"manifests/{sha(record)}", record)
        listed = {"schemaVersion": 2, "mediaType": INDEX, "manifests": [
            {"mediaType": OCI, "digest": sha(record), "size": len(record),
             "annotations": {"dev.floe.record.kind": "lock"}}]}
        _serve(server, "manifests/floe-dev-index", json.dumps(listed).encode(), INDEX)
        server.route("GET", f"/v2/{REPO}/blobs/", 200, {}, content)
        scan = OciRecordReader().scan(registry, ["v1.0.0-dev"], ledger_id="mine")
        assert len(scan.records) + len(scan.rejected) == 1
        for read in (lambda: env_records(registry, ["dev"]),
                     lambda: read_record(registry, sha(record))):
            with contextlib.suppress(FloeError):
                read()

    ran = _generated(st.tuples(bodies(VALID_RECORD), bodies(VALID_CONTENT)), check)
    add_row(TABLE, "records (reader, environment index, read_record)",
            {"generated cases": ran, "tracebacks": 0})


@pytest.mark.requirement("FR-032")
def test_any_tag_list_gives_valid_tags_or_a_floe_error(server: HostileServer) -> None:
    registry = _registry(server)

    def check(body: bytes) -> None:
        server.clear()
        server.route("GET", f"/v2/{REPO}/tags/list", 200, {}, body)
        try:
            tags = registry.list_tags()
        except FloeError as err:
            assert err.exit_code == 5
            return
        assert all(isinstance(t, str) and TAG_RE.match(t) for t in tags)

    ran = _generated(bodies({"name": REPO, "tags": ["v1.0.0", "latest-dev"]}), check)
    add_row(TABLE, "tag lists", {"generated cases": ran, "tracebacks": 0})


@pytest.mark.requirement("FR-032")
@pytest.mark.parametrize("what", ["manifest", "blob into a file", "tag list"])
def test_an_answer_that_drips_in_is_cut_off_at_its_deadline(server: HostileServer,
                                                            what: str) -> None:
    server.clear()
    body = json.dumps({"tags": ["v1.0.0"] * 50}).encode()
    slow = {"chunks": drip(body, 0.05), "framing": "close"}
    server.route("GET", f"/v2/{REPO}/", 200, {"Content-Type": OCI}, **slow)
    registry = _registry(server, body_deadline_s=1.0)
    started = time.monotonic()
    with pytest.raises(RegistryUnavailableError, match="not complete after 1 s") as caught:
        if what == "manifest":
            registry.get_manifest("v1.0.0")
        elif what == "tag list":
            registry.list_tags()
        else:
            with tempfile.TemporaryFile() as out:
                registry.copy_blob(sha(body), len(body), out)
    assert caught.value.exit_code == 5 and time.monotonic() - started < 5
    assert DIGEST_RE.match(sha(body))
