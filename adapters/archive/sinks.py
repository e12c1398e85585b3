"""Finding audit sinks: the ``floe.audit_sinks`` entry point group (ARCH-02).

    sinks = build_sinks(manifest.artifacts.audit, SinkContext(env=env, ledger=display))

A package adds a sink without editing floe by declaring, in its own pyproject.toml::

    [project.entry-points."floe.audit_sinks"]
    mysink = "my_package.floe_sink:make_sink"     # make_sink(settings, context) -> AuditSink

and the user turns it on with ``artifacts.audit.mysink: {...}`` in manifest.yaml. floe's own
sinks (``s3``, ``registry``) are declared the same way in floe's pyproject.toml.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from floe_ledger.domain.model.config import AuditConfig
from floe_ledger.domain.model.errors import ConfigError, quoted
from floe_ledger.domain.services.audit_sinks import AuditSink, SinkContext

GROUP = "floe.audit_sinks"


def available() -> dict[str, EntryPoint]:
    """Every installed sink, by name (the first distribution's wins on a clash)."""
    found: dict[str, EntryPoint] = {}
    for ep in entry_points(group=GROUP):
        found.setdefault(ep.name, ep)
    return found


def build_sink(name: str, settings: Mapping[str, Any], context: SinkContext) -> AuditSink:
    """The sink ``name`` built from its settings.

    Raises:
        ConfigError: no installed sink has that name, or it is not an AuditSink.
    """
    installed = available()
    ep = installed.get(name)
    if ep is None:
        names = ", ".join(sorted(installed)) or "none"
        raise ConfigError(f"artifacts.audit.{name}: no audit sink named {quoted(name)} is "
                          f"installed (installed: {names})",
                          hint=f"install the package that provides it (entry point group "
                          f"{GROUP}), or remove artifacts.audit.{name}")
    factory = ep.load()
    sink = factory(dict(settings), context)
    if not isinstance(sink, AuditSink):
        raise ConfigError(f"the audit sink {quoted(name)} ({ep.value}) does not implement "
                          "AuditSink", hint="see floe_ledger.domain.services.audit_sinks")
    return sink


def build_sinks(config: AuditConfig, context: SinkContext) -> dict[str, AuditSink]:
    """Every sink configured under ``artifacts.audit``, by name (empty when none is)."""
    return {name: build_sink(name, settings, context)
            for name, settings in config.sinks().items()}
