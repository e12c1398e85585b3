"""The checks ``floe doctor`` runs: one :class:`Check` each, ok / warn / fail / skip.

    check = guard("registry", lambda: check_registry(app))   # an error becomes a failed check
    check.as_dict()   # {"name", "status", "message", "hint", "code", "exit_code", "details"}

Reads only: the manifest, the registry (tag list, ``GET /v2/``, a referrers query), the
ledger (opened read-only, never created or folded), the trust material and PATH. A failed
check carries the error the command that meets the problem would raise, so its exit code
is the one that command would exit with.
"""

from __future__ import annotations

import functools
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from floe_ledger.cli.app import App
from floe_ledger.domain.model.errors import ConfigError, FloeError, GateFailedError
from floe_ledger.domain.services.ports import Registry

Status = Literal["ok", "warn", "fail", "skip"]


@dataclass
class Check:
    """One line of the report; a failure carries the error whose exit code it stands for."""

    name: str
    status: Status
    message: str
    hint: str = ""
    error: FloeError | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status, "message": self.message,
                "hint": self.hint or None, "code": self.error.code if self.error else None,
                "exit_code": int(self.error.exit_code) if self.error else None,
                "details": self.details}


def failed(name: str, error: FloeError, details: dict[str, Any] | None = None) -> Check:
    """A failed check standing for ``error`` (its message, hint, code and exit code)."""
    return Check(name, "fail", error.message, error.hint, error,
                 dict(error.details) if details is None else details)


def guard(name: str, probe: Callable[[], Check]) -> Check:
    """The probe's check, or a failure carrying the error it raised."""
    try:
        return probe()
    except FloeError as err:
        return failed(name, err)
    except Exception as exc:  # a check that breaks is reported, never a traceback
        return failed(name, FloeError(
            f"unexpected error: {type(exc).__name__}: {exc}",
            hint="set FLOE_DEBUG=1 on the command that meets it, and report it"))


def check_manifest(app: App) -> Check:
    """It loads, its gates, policies and signature settings validate; warnings for what is
    probably not meant."""
    from floe_ledger.domain.model.signature import parse_policy

    manifest = app.manifest
    app.gates()  # gates, gate_commands and CEL policies: exit 2 at promotion time too
    policy = parse_policy(manifest.artifacts.registry.verification)
    names = manifest.artifacts.promotion.path.names
    message = (f"{app.settings.manifest_path} loads: {app.repository}, "
               f"environments {' -> '.join(names)}")
    warnings, hints = [], []
    ignored = sorted(manifest.model_extra or {})
    if ignored:
        warnings.append(f"top-level keys other than 'artifacts' are ignored: {', '.join(ignored)}")
        hints.append("move floe's settings under artifacts:")
    if policy.enforcement == "off":
        warnings.append("signatures are not checked before promotion (verification.enforcement "
                        "is off)")
        hints.append("set artifacts.registry.verification.enforcement: enforce, with "
                     "public_keys or trusted_issuers")
    details = {"manifest": str(app.settings.manifest_path), "registry": app.repository,
               "environments": list(names), "warnings": warnings}
    if warnings:
        return Check("manifest", "warn", f"{message}; {'; '.join(warnings)}", "; ".join(hints),
                     details=details)
    return Check("manifest", "ok", message, details=details)


def check_registry(app: App) -> Check:
    """Reachable, credentials accepted, referrers API or the fallback tag schema."""
    cfg = app.manifest.artifacts.registry
    return _registry_check("registry", app.registry, cfg.plain_http)


def check_replicas(app: App) -> list[Check]:
    """One registry check per ``artifacts.replicas`` entry."""
    try:
        replicas = app.replicas.replicas
    except FloeError as err:
        return [failed("replicas", err)]
    configs = app.manifest.artifacts.replicas
    names = [f"replica {cfg.name or cfg.uri}" for cfg in configs]
    return [guard(name, functools.partial(_registry_check, name, registry, cfg.plain_http))
            for name, registry, cfg in zip(names, replicas, configs, strict=True)]


def _registry_check(name: str, registry: Registry, plain_http: bool) -> Check:
    from floe_ledger.adapters.registry.probe import probe_registry

    facts = probe_registry(registry)
    details = {"uri": facts.uri, "kind": facts.kind, "user": facts.user, "tags": facts.tags,
               "referrers": facts.referrers}
    records = ("referrers API supported" if facts.referrers == "api" else
               "no referrers API: records are listed in OCI 1.1 fallback index tags "
               "(sha256-<hex>)")
    if facts.kind == "layout":
        if not facts.exists:
            return Check(name, "ok", f"{facts.uri} does not exist yet: the first "
                         "'floe artifact push' creates it", details=details)
        return Check(name, "ok", f"{facts.uri}: {facts.tags} tag(s); {records}", details=details)
    who = f"credentials accepted for {facts.user}" if facts.user else "anonymous access"
    scheme = "http" if plain_http else "https"
    return Check(name, "ok", f"{facts.uri} reachable over {scheme}, {who}, {facts.tags} tag(s); "
                 f"{records}", details=details)


def check_ledger(app: App) -> Check:
    """Kind (shared PostgreSQL or this machine's SQLite), tables, events, schema version."""
    from floe_ledger.adapters.store.inspect import inspect_ledger
    from floe_ledger.adapters.store.postgres import INIT_HINT

    facts = inspect_ledger(app.ledger_location, app.settings.env)
    where = ("shared PostgreSQL ledger " if facts.shared else "local SQLite ledger ") + \
        facts.display
    details = {"kind": facts.kind, "shared": facts.shared, "location": facts.display,
               "exists": facts.exists, "events": facts.events,
               "schema_versions": list(facts.schema_versions),
               "missing_tables": list(facts.missing_tables), "views_behind": facts.views_behind}
    if not facts.exists:
        return _ci_warning(app, facts.shared, Check(
            "ledger", "ok", f"{where}: not created yet (the first command that records "
            "something creates it)", details=details))
    if facts.missing_tables and facts.shared:
        return failed("ledger", ConfigError(f"{where} has no tables yet (missing: "
                                            f"{', '.join(facts.missing_tables)})",
                                            hint=INIT_HINT), details)
    if facts.unknown_topics:
        return failed("ledger", ConfigError(
            f"{where} holds events this floe does not know "
            f"({', '.join(facts.unknown_topics)}): a newer floe wrote them",
            hint="upgrade floe to the version the other writers use"), details)
    schema = ", ".join(facts.schema_versions) or "-"
    count = f"{facts.events} event(s), event schema {schema}" if facts.events else "no events yet"
    message = f"{where}: {count}, " + (
        "tables present" if not facts.missing_tables else "tables created on first use")
    if facts.views_behind:
        message += f"; views {facts.views_behind} event(s) behind (folded by the next command)"
    return _ci_warning(app, facts.shared, Check("ledger", "ok", message, details=details))


def _ci_warning(app: App, shared: bool, check: Check) -> Check:
    """In CI a runner's own SQLite ledger holds none of the other runners' decisions."""
    if shared or app.settings.env.get("CI", "").lower() not in ("true", "1"):
        return check
    check.status = "warn"
    check.message += "; in CI: this runner's own ledger, not shared with other runners"
    check.hint = ("set FLOE_LEDGER_URL to a shared PostgreSQL ledger (README: Many runners, "
                  "many ledgers)")
    return check


def check_trust_root(app: App) -> Check:
    """Key files exist and are public keys; the Sigstore trust root is there and parses."""
    from floe_ledger.domain.model.signature import parse_policy

    policy = parse_policy(app.manifest.artifacts.registry.verification)
    found: list[str] = []
    problems: list[FloeError] = []
    for name in policy.public_keys:
        try:
            found.append(_public_key(app, name))
        except FloeError as err:
            problems.append(err)
    if policy.trusted_issuers:
        try:
            found.append(_sigstore_root(app))
        except FloeError as err:
            problems.append(err)
    details = {"checked": found, "problems": [p.message for p in problems]}
    if problems:
        return failed("trust root", ConfigError(
            "; ".join(p.message for p in problems),
            hint="; ".join(dict.fromkeys(p.hint for p in problems if p.hint))), details)
    if not found:
        return Check("trust root", "ok", "no public_keys or trusted_issuers configured: "
                     "nothing to check", details=details)
    return Check("trust root", "ok", "; ".join(found), details=details)


def _public_key(app: App, name: str) -> str:
    from floe_ledger.adapters.signing.keys import load_public_key

    path = Path(name).expanduser()
    path = path if path.is_absolute() else app.settings.base_dir / path
    try:
        key = load_public_key(path)
    except ConfigError as err:
        raise ConfigError(err.message, hint="create the key pair with 'floe artifact keygen "
                          "keys/cosign' (or copy the signer's cosign.pub there), or fix "
                          "artifacts.registry.verification.public_keys") from None
    return f"key {name} (sha256:{key.fingerprint[:12]})"


def _sigstore_root(app: App) -> str:
    from floe_ledger.adapters.signing.keyless import load_sigstore_verifier
    from floe_ledger.adapters.signing.verifier import trust_root_path

    root = app.settings.env.get("FLOE_SIGSTORE_TRUST_ROOT") or "production"
    path = trust_root_path(root)
    try:
        load_sigstore_verifier(path)
    except Exception as exc:
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ConfigError(f"the Sigstore trust root {path} does not parse: {reason}",
                          hint="point FLOE_SIGSTORE_TRUST_ROOT at a trusted_root.json, or unset "
                          "it for the built-in production root") from None
    if root == "production":
        return "Sigstore trust root: built-in production"
    return f"Sigstore trust root: {path} (from FLOE_SIGSTORE_TRUST_ROOT)"


def check_gate_commands(app: App) -> Check:
    """Every gate command's argv[0] resolves (PATH, or a path from the manifest's folder);
    every enabled gate has a command."""
    from floe_ledger.domain.model.gates import split_command

    gates = app.gates()
    uses: dict[str, list[str]] = {}
    problems: list[str] = []
    for env in app.manifest.artifacts.promotion.path.names:
        for spec in gates.plan(env):
            if spec.error:
                problems.append(spec.error)
            elif spec.argv:
                uses.setdefault(spec.argv[0], []).append(f"{spec.name} in {env}")
    for name, command in gates.gate_commands.items():
        uses.setdefault(split_command(command.command)[0], []).append(f"gate_commands.{name}")
    path_var = app.settings.env.get("PATH", os.defpath)
    found = {argv0: _resolve(argv0, app.settings.base_dir, path_var) for argv0 in uses}
    problems += [f"{argv0!r} ({', '.join(dict.fromkeys(uses[argv0]))}) "
                 + ("is not on PATH" if "/" not in argv0 else
                    f"is not an executable file (relative to {app.settings.base_dir})")
                 for argv0, where in found.items() if where is None]
    details = {"commands": dict(found), "problems": problems}
    if problems:
        return failed("gate commands", GateFailedError(
            "; ".join(problems), hint="install the command or put it on PATH, or fix it in "
            "artifacts.promotion.gate_commands: a gate without a runnable command fails every "
            "promotion it guards"), details)
    if not found:
        return Check("gate commands", "ok", "no command gates configured", details=details)
    listed = ", ".join(f"{a} ({w})" for a, w in found.items())
    return Check("gate commands", "ok", f"{len(found)} found: {listed}", details=details)


def _resolve(argv0: str, workdir: Path, path_var: str) -> str | None:
    """Where the gate runner would find ``argv0`` (it runs in the manifest's folder)."""
    if "${" in argv0:
        return "resolved when the gate runs"
    if "/" not in argv0:
        return shutil.which(argv0, path=path_var)
    path = workdir / argv0  # an absolute argv0 stays itself
    return str(path) if path.is_file() and os.access(path, os.X_OK) else None
