"""Scanner reports (Trivy JSON, Grype JSON) parsed into findings and a summary.

Pure: every function takes JSON that was already read. The rules (SCAN-01..08):

- Trivy: ``Results[].Vulnerabilities[]`` (either may be null or absent; a report
  without ``Results`` is a clean scan). Unfixed = no non-empty ``FixedVersion``.
- Grype: ``matches[]`` with ``vulnerability.{id,severity,fix.state}`` and
  ``artifact.name``. Severity is title case and normalised to upper case;
  ``Negligible`` ranks below LOW and can never block. Unfixed = state not ``fixed``.
- One finding per (vulnerability id, package); fixed if any instance is fixed,
  and the highest severity of the instances wins.
- A finding blocks when its severity is in ``block_on_severity`` and it is not an
  unfixed finding under ``ignore_unfixed``.

Example::

    findings = load_report(stdout_bytes, "trivy")
    summary = summarize(findings, ["CRITICAL", "HIGH"], ignore_unfixed=False)
    summary.blocking_ids  # ('CVE-2019-18224',)
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from floe_ledger.domain.model.errors import GateFailedError

ScannerFormat = Literal["trivy", "grype"]
BlockSeverity = Literal["CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN"]


class Severity(StrEnum):
    """Normalised (upper-case) severities; NEGLIGIBLE exists only in Grype."""

    CRITICAL = "CRITICAL"
    HIGH = "HIGH"
    MEDIUM = "MEDIUM"
    LOW = "LOW"
    NEGLIGIBLE = "NEGLIGIBLE"
    UNKNOWN = "UNKNOWN"

    @classmethod
    def parse(cls, raw: object) -> Severity:
        """Normalise a scanner's severity string; anything unrecognised is UNKNOWN."""
        text = raw.strip().upper() if isinstance(raw, str) else ""
        return cls(text) if text in cls.__members__ else cls.UNKNOWN


MAX_JSON_VALUES = 8_000_000
"""Most JSON values (counted as commas and opening brackets, before parsing) a report may
hold: a real report has one per 25 bytes or more, so up to ~5 million at the 128 MiB size
cap; 8 million of the smallest (``[]``) cost ~0.5 GB once parsed, 43 million (the cap filled
with them) would cost ~2.7 GB."""

MAX_FINDINGS = 100_000
"""Most vulnerability entries a report may hold; past it the report is refused (fail
closed): a real scan has thousands, and each entry costs a model object."""

_RANK = {
    Severity.UNKNOWN: 0, Severity.NEGLIGIBLE: 1, Severity.LOW: 2,
    Severity.MEDIUM: 3, Severity.HIGH: 4, Severity.CRITICAL: 5,
}


class ScanReportError(GateFailedError):
    """A scanner report that cannot be read: the security gate fails closed."""


class Finding(BaseModel):
    """One vulnerability in one package."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    severity: Severity
    package: str = ""
    installed_version: str = ""
    fixed: bool = False
    fixed_version: str = ""


class SecuritySummary(BaseModel):
    """What the security gate found and why it decided as it did (FR-056, ENT-14)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    scanner: ScannerFormat
    total: int
    by_severity: dict[str, int]
    blocking: tuple[Finding, ...] = ()
    warnings: tuple[Finding, ...] = ()
    ignored_unfixed: int = 0
    block_on_severity: tuple[BlockSeverity, ...] = ()
    ignore_unfixed: bool = False

    @property
    def blocking_ids(self) -> tuple[str, ...]:
        """The IDs of the blocking findings, without repeats, in report order."""
        return tuple(dict.fromkeys(f.id for f in self.blocking))

    @property
    def warning_band(self) -> Severity:
        """The severity just below the lowest one that blocks (MEDIUM for the default
        CRITICAL/HIGH): findings from there up are worth a person's reading."""
        ranks = [_RANK[Severity(s)] for s in self.block_on_severity if s != "UNKNOWN"]
        lowest = min(ranks, default=_RANK[Severity.CRITICAL])
        return next(s for s, r in _RANK.items() if r == max(lowest - 1, 1))

    def notable(self) -> list[Finding]:
        """Blocking findings, then the others at or above :attr:`warning_band`, each group
        most severe first (the order within a severity is the report's)."""
        band = _RANK[self.warning_band]
        rest = [f for f in self.warnings if f.severity is not Severity.UNKNOWN
                and _RANK[f.severity] >= band]
        return _most_severe_first(self.blocking) + _most_severe_first(rest)


def _most_severe_first(found: Iterable[Finding]) -> list[Finding]:
    return sorted(found, key=lambda f: -_RANK[f.severity])


def _fail(fmt: str, what: str, hint: str = "") -> ScanReportError:
    return ScanReportError(
        f"cannot read the {fmt} scanner report: {what}",
        hint=hint or f"check that the scanner writes {fmt} JSON (scanner_format: {fmt})",
        details={"scanner_format": fmt},
    )


def _count(found: list[Finding], fmt: str) -> None:
    if len(found) >= MAX_FINDINGS:
        raise _fail(fmt, f"it holds more than {MAX_FINDINGS} vulnerability entries",
                    "scan with a narrower scope or severity filter; the gate fails closed")


TEXT_LIMIT = 256
"""Longest ID, package or fixed version kept from a report (real ones are far shorter):
each ends up in the gate's message and in the ledger."""


def _text(value: object) -> str:
    """A report's string, stripped and cut to :data:`TEXT_LIMIT`; a lone surrogate (a JSON
    ``\\ud800`` escape, which no UTF-8 can hold) becomes U+FFFD. Anything else is ""."""
    if not isinstance(value, str):
        return ""
    text = value.strip()[:TEXT_LIMIT]
    return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


def _mapping(value: object) -> Mapping[str, Any]:
    """``value`` if it is an object, else an empty one (for optional sub-objects)."""
    return value if isinstance(value, Mapping) else {}


def _list(value: object, fmt: str, where: str) -> list[Any]:
    """A JSON array, with null and absent meaning empty."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise _fail(fmt, f"{where} should be an array, got {type(value).__name__}")
    return value


def _object(value: object, fmt: str, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _fail(fmt, f"{where} should be an object, got {type(value).__name__}")
    return value


def _trivy_results(data: object) -> list[Any]:
    """The ``Results`` array; a top-level array is the pre-v2 (SchemaVersion 1) layout."""
    if isinstance(data, list):
        return data
    doc = _object(data, "trivy", "the report")
    if "matches" in doc:
        raise _fail("trivy", "it looks like Grype output", "set scanner_format: grype")
    if "Results" not in doc and "SchemaVersion" not in doc and "ArtifactName" not in doc:
        raise _fail("trivy", "it has none of SchemaVersion, ArtifactName or Results")
    return _list(doc.get("Results"), "trivy", "Results")


def parse_trivy(data: object) -> list[Finding]:
    """Every Trivy finding, one per occurrence (not yet de-duplicated)."""
    found: list[Finding] = []
    for i, result in enumerate(_trivy_results(data)):
        where = f"Results[{i}]"
        vulns = _list(_object(result, "trivy", where).get("Vulnerabilities"), "trivy", where)
        for j, raw in enumerate(vulns):
            vuln = _object(raw, "trivy", f"{where}.Vulnerabilities[{j}]")
            vid = _text(vuln.get("VulnerabilityID"))
            if not vid:
                raise _fail("trivy", f"{where}.Vulnerabilities[{j}] has no VulnerabilityID")
            fixed_version = _text(vuln.get("FixedVersion"))
            _count(found, "trivy")
            found.append(Finding(
                id=vid, severity=Severity.parse(vuln.get("Severity")),
                package=_text(vuln.get("PkgName")),
                installed_version=_text(vuln.get("InstalledVersion")), fixed=bool(fixed_version),
                fixed_version=fixed_version,
            ))
    return found


def _grype_matches(data: object) -> list[Any]:
    doc = _object(data, "grype", "the report")
    if "matches" not in doc:
        hint = "set scanner_format: trivy" if "SchemaVersion" in doc or "Results" in doc else ""
        raise _fail("grype", "it has no 'matches' array", hint)
    return _list(doc.get("matches"), "grype", "matches")


def parse_grype(data: object) -> list[Finding]:
    """Every Grype match, one per occurrence (not yet de-duplicated)."""
    found: list[Finding] = []
    for i, raw in enumerate(_grype_matches(data)):
        where = f"matches[{i}]"
        match = _object(raw, "grype", where)
        vuln = _object(match.get("vulnerability"), "grype", f"{where}.vulnerability")
        vid = _text(vuln.get("id"))
        if not vid:
            raise _fail("grype", f"{where}.vulnerability has no id")
        fix = _mapping(vuln.get("fix"))
        raw_versions = fix.get("versions")
        versions = [v for v in raw_versions if isinstance(v, str)] if isinstance(
            raw_versions, list) else []
        artifact = _mapping(match.get("artifact"))
        _count(found, "grype")
        found.append(Finding(
            id=vid, severity=Severity.parse(vuln.get("severity")),
            package=_text(artifact.get("name")), installed_version=_text(artifact.get("version")),
            fixed=_text(fix.get("state")).lower() == "fixed",
            fixed_version=_text(", ".join(versions)),
        ))
    return found


def dedupe(findings: Iterable[Finding]) -> list[Finding]:
    """One finding per (id, package): fixed if any instance is, highest severity wins."""
    merged: dict[tuple[str, str], Finding] = {}
    for f in findings:
        key = (f.id, f.package)
        seen = merged.get(key)
        if seen is None:
            merged[key] = f
            continue
        severity = max(seen.severity, f.severity, key=_RANK.__getitem__)
        fixed_version = seen.fixed_version or f.fixed_version
        merged[key] = seen.model_copy(update={
            "severity": severity, "fixed": seen.fixed or f.fixed, "fixed_version": fixed_version,
        })
    return list(merged.values())


def parse_report(data: object, fmt: ScannerFormat) -> list[Finding]:
    """De-duplicated findings of an already-decoded report; ScanReportError if malformed."""
    if fmt == "trivy":
        return dedupe(parse_trivy(data))
    if fmt == "grype":
        return dedupe(parse_grype(data))
    raise _fail(str(fmt), "unknown scanner format", "scanner_format is trivy or grype")


def load_report(raw: str | bytes, fmt: ScannerFormat) -> list[Finding]:
    """Decode report text and parse it; ScanReportError for empty or non-JSON input."""
    if not raw.strip():
        raise _fail(fmt, "the report is empty")
    counted = (raw.count(b",") + raw.count(b"[") + raw.count(b"{") if isinstance(raw, bytes)
               else raw.count(",") + raw.count("[") + raw.count("{"))
    if counted > MAX_JSON_VALUES:
        raise _fail(fmt, f"it holds more than {MAX_JSON_VALUES} JSON values; not parsed",
                    "scan with a narrower scope or severity filter; the gate fails closed")
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise _fail(fmt, f"not JSON ({exc})") from None
    except RecursionError:
        raise _fail(fmt, "nested too deeply to read") from None
    return parse_report(data, fmt)


def summarize(
    findings: Sequence[Finding],
    block_on_severity: Iterable[BlockSeverity],
    *,
    ignore_unfixed: bool,
    scanner: ScannerFormat = "trivy",
) -> SecuritySummary:
    """Count findings per severity and split them into blocking and warnings (SCAN-05)."""
    block_on = tuple(dict.fromkeys(block_on_severity))
    by_severity = {s.value: 0 for s in Severity}
    blocking: list[Finding] = []
    warnings: list[Finding] = []
    ignored = 0
    for f in findings:
        by_severity[f.severity.value] += 1
        if f.severity.value not in block_on:
            warnings.append(f)
        elif ignore_unfixed and not f.fixed:
            ignored += 1
            warnings.append(f)
        else:
            blocking.append(f)
    return SecuritySummary(
        scanner=scanner, total=len(findings), by_severity=by_severity,
        blocking=tuple(blocking), warnings=tuple(warnings), ignored_unfixed=ignored,
        block_on_severity=block_on, ignore_unfixed=ignore_unfixed,
    )
