"""Hostile scanner reports read by the security gate: a failed gate (exit 8), never a
traceback, a "gate crashed" or exit 1, and never a report read into memory past its cap.

Reports are the real Trivy and Grype samples (tests/data/scanners) with wrong types at every
level, keys removed, values replaced by hostile ones; random JSON; the JSON cut at any byte;
other encodings; and a table of traps (a 1 GiB sparse file, /dev/zero, a FIFO, a folder,
deep nesting, more findings than the cap). Each case is a promotion
into dev through the real ``floe`` (in-process): a dry run for the generated ones, a real
run for the traps, so a failed gate is also recorded in the ledger with the report's IDs.
"""

from __future__ import annotations

import copy
import json
import os
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from floe_ledger.adapters.gates.security import REPORT_LIMIT
from floe_ledger.domain.model.scan import MAX_FINDINGS, MAX_JSON_VALUES
from support.doc_paths import node_paths
from support.fuzzing import BASE_MANIFEST, LocalSite, Tally, fuzz_settings, invoke, local_site

DATA = Path(__file__).resolve().parents[1] / "data" / "scanners"
SAMPLES = {"trivy": json.loads((DATA / "trivy-image-debian-buster.json").read_text()),
           "grype": json.loads((DATA / "grype-image.json").read_text())}
GATE_CODES = {0, 8}  # passed (perhaps with a warning), or the gate failed


class Promoter:
    """Pushes a fresh version per case and promotes it into dev behind the scan gate."""

    def __init__(self, site: LocalSite) -> None:
        self.site = site
        self.n = 0

    def report_at(self, report: str, fmt: str) -> None:
        self.site.write(BASE_MANIFEST + "  promotion:\n    environments:\n      - name: dev\n"
                        "        gates:\n          security_scan:\n"
                        f"            report: {json.dumps(report)}\n"
                        f"            scanner_format: {fmt}\n      - name: prod\n")

    def promote(self, tally: Tally, allowed: set[int] = GATE_CODES, *,
                dry_run: bool = True) -> dict[str, Any]:
        """Promote into dev: ``v1.0.0`` as a dry run, else a freshly pushed version for real
        (a passing gate tags it; the next case needs another)."""
        version, flags = "v1.0.0", ["--dry-run"]
        if not dry_run:
            self.n += 1
            version, flags = f"v2.0.{self.n}", []
            bundle = self.site.root / "bundle.yaml"
            invoke(["artifact", "push", str(bundle), version, "--manifest",
                    str(self.site.manifest)], Tally("setup"), {0}, self.site.env)
        result = invoke(["platform", "promote", version, "--to", "dev", "-o", "json", *flags,
                         "--manifest", str(self.site.manifest)], tally, allowed, self.site.env)
        doc: dict[str, Any] = json.loads(result.stdout)
        scan = [g for g in doc.get("gate_results", []) if g["gate"] == "security_scan"]
        if result.exit_code == 8:
            failed = scan and scan[0]["status"] == "failed" and scan[0]["error"]
            assert failed or doc.get("blocking"), doc  # a dry run lists it under blocking
        return doc


@pytest.fixture(scope="module")
def promoter(tmp_path_factory: pytest.TempPathFactory) -> Promoter:
    return Promoter(local_site(tmp_path_factory.mktemp("scan-fuzz"), promoted=False))


PATHS = {fmt: node_paths(doc, items=3) for fmt, doc in SAMPLES.items()}
_ids = st.sampled_from(["", " ", "\ud800", "\x1b[31mCVE\n", "CVE-" + "9" * 100_000, "\u202e",
                        "[red]x", "CRITICAL", "sha256:" + "ab" * 32])
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(2**80), 2**80), st.floats(),
              st.text(max_size=20), _ids),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                  max_size=3),
    max_leaves=6)


@st.composite
def mutated_reports(draw: st.DrawFn) -> tuple[str, Any]:
    fmt = draw(st.sampled_from(["trivy", "grype"]))
    doc = copy.deepcopy(SAMPLES[fmt])
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(PATHS[fmt]))
        value = draw(json_values)
        if not path:
            doc = value
            continue
        parent: Any = doc
        try:
            for part in path[:-1]:
                parent = parent[part]
            if draw(st.booleans()) and isinstance(parent, dict):
                parent.pop(path[-1], None)
            else:
                parent[path[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation removed the way there
    return fmt, doc


def encode(draw: st.DrawFn, doc: Any) -> bytes:
    text = json.dumps(doc, allow_nan=True, ensure_ascii=draw(st.booleans()))
    how = draw(st.sampled_from(["utf-8", "utf-8", "cut", "utf-16", "bom", "latin-1"]))
    if how == "cut":
        return text.encode("utf-8", "surrogatepass")[: draw(st.integers(0, len(text)))]
    if how == "bom":
        return b"\xef\xbb\xbf" + text.encode("utf-8", "surrogatepass")
    return text.encode(how, "surrogatepass" if how != "latin-1" else "replace")


@pytest.mark.requirement("FR-057", "SCAN-01", "SCAN-02", "EXIT-8")
@given(data=st.data())
@fuzz_settings(examples=120)
def test_mutated_reports_fail_the_gate_or_pass_never_crash(promoter, tally, data) -> None:
    fmt, doc = data.draw(mutated_reports())
    (promoter.site.root / "scan.json").write_bytes(encode(data.draw, doc))
    promoter.report_at("scan.json", fmt)
    promoter.promote(tally("scanner reports: mutated Trivy/Grype samples"))


@pytest.mark.requirement("FR-057", "EXIT-8")
@given(raw=st.one_of(st.binary(max_size=300), st.text(max_size=100).map(str.encode)),
       fmt=st.sampled_from(["trivy", "grype"]))
@fuzz_settings(examples=40)
def test_arbitrary_bytes_fail_the_gate(promoter, tally, raw, fmt) -> None:
    (promoter.site.root / "scan.json").write_bytes(raw)
    promoter.report_at("scan.json", fmt)
    promoter.promote(tally("scanner reports: arbitrary bytes"), {8})


def _findings(n: int) -> bytes:
    entry = b'{"VulnerabilityID":"CVE-%d","Severity":"LOW"},'
    body = b"".join(entry % i for i in range(n)).rstrip(b",")
    return b'{"SchemaVersion":2,"Results":[{"Vulnerabilities":[' + body + b"]}]}"


def _traps(root: Path) -> dict[str, tuple[str, str]]:
    """name: (report path, what the gate's error must say)."""
    sparse = root / "huge.json"
    with sparse.open("wb") as f:  # 1 GiB that costs no disk; floe must not read it
        f.write(b'{"SchemaVersion": 2, "Results": [')
        f.truncate(1 << 30)
    fifo = root / "report.fifo"
    if not fifo.exists():
        os.mkfifo(fifo)
    zero = root / "zero.json"
    if not zero.is_symlink():
        zero.symlink_to("/dev/zero")
    (root / "deep.json").write_bytes(b"[" * 200_000 + b"]" * 200_000)
    (root / "many.json").write_bytes(_findings(MAX_FINDINGS + 1))
    (root / "values.json").write_bytes(b'{"SchemaVersion":2,"x":[' + b"[]," * MAX_JSON_VALUES
                                       + b"[]]}")
    (root / "escapes.json").write_text(json.dumps({"SchemaVersion": 2, "Results": [
        {"Vulnerabilities": [{"VulnerabilityID": "\ud800CVE\x1b[2K\n", "Severity": "CRITICAL",
                              "PkgName": "\ud83d"}]}]}))
    (root / "folder.json").mkdir(exist_ok=True)
    return {
        "1 GiB sparse file": ("huge.json", f"larger than {REPORT_LIMIT} B"),
        "/dev/zero behind a symlink": ("zero.json", "not a regular file"),
        "a FIFO with no writer": ("report.fifo", "not a regular file"),
        "a folder": ("folder.json", "not a regular file"),
        "missing": ("absent.json", "cannot read scanner report"),
        "a NUL in the path": ("a\x00b.json", "cannot read scanner report"),
        "200 000 levels of nesting": ("deep.json", "nested too deeply"),
        f"{MAX_FINDINGS + 1} findings": ("many.json", f"more than {MAX_FINDINGS}"),
        f"{MAX_JSON_VALUES + 1} JSON values": ("values.json", "JSON values; not parsed"),
        "lone surrogates and escapes in IDs": ("escapes.json", "blocking vulnerability"),
    }


@pytest.mark.requirement("FR-057", "EXIT-8")
def test_report_traps_fail_the_gate_quickly(promoter, tally) -> None:
    count = tally("scanner reports: traps (1 GiB, /dev/zero, FIFO, nesting, too many)")
    for name, (path, says) in _traps(promoter.site.root).items():
        promoter.report_at(path, "trivy")
        started = time.monotonic()
        doc = promoter.promote(count, {8}, dry_run=False)  # the failure is recorded
        elapsed = time.monotonic() - started
        assert says in json.dumps(doc["gate_results"]), (name, doc["gate_results"])
        assert elapsed < 10, (name, elapsed)
