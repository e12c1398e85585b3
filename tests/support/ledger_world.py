"""Two floe ledgers sharing one registry, driven in-process through the CLI's composition root.

    world = LedgerWorld(tmp_dir)
    with world.ledgers["a"].command() as app:
        app.promotion_service().promote(PromoteRequest("v1.0.0", None, "dev"), world.actor("a"))

Each ledger is a real SQLite ledger (eventsourcing, with its views) in its own checkout, with
its own manifest.yaml, opened by a fresh :class:`~floe_ledger.cli.app.App` per command as the
CLI does (the views are folded when the App closes). The registry is the in-memory fake
(:mod:`support.memory_registry`) under the repository name the manifests give, shared by
both ledgers; it remembers which tags floe PUT (and from which ledger) and lets a test change
tags by hand, behind floe's back.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from floe_ledger.adapters.audit.verify import VerifyOutcome, ledger_rows, verify_ledger
from floe_ledger.adapters.manifest.loader import load_manifest
from floe_ledger.cli.app import App, Settings
from floe_ledger.domain.model.identity import Actor, Operator
from floe_ledger.domain.model.oci import Manifest
from floe_ledger.domain.model.values import DIGEST_RE
from support.memory_registry import MemoryRegistry

REPOSITORY = "registry.test/floe/app"
URI = f"oci://{REPOSITORY}"
ENVIRONMENTS = ("dev", "staging", "prod")
VERSIONS = ("v1.0.0", "v1.1.0", "v2.0.0")
MANIFEST = f"artifacts:\n  registry:\n    uri: {REPOSITORY}\n"


class SharedRegistry(MemoryRegistry):
    """The fake registry under ``oci://registry.test/floe/app``, as both manifests name it.

    ``writer`` names the ledger whose command is running; every tag PUT is noted in ``puts``
    as (tag, digest, ledger or None when no floe command was running). ``by_hand`` changes a
    tag without floe (and without a PUT).
    """

    def __init__(self) -> None:
        super().__init__(REPOSITORY)
        self.writer: str | None = None
        self.puts: list[tuple[str, str, str | None]] = []
        self.changes = 0  # tag changes, by floe or by hand

    @property
    def uri(self) -> str:
        return URI

    def put_manifest(self, reference: str, manifest: Manifest) -> str:
        digest = super().put_manifest(reference, manifest)
        if not DIGEST_RE.match(reference):
            self.puts.append((reference, digest, self.writer))
            self.changes += 1
        return digest

    def by_hand(self, tag: str, digest: str | None) -> None:
        """Point ``tag`` at ``digest`` (None: delete it), as someone with registry access
        and no floe would."""
        if digest is None:
            self.tags.pop(tag, None)
        else:
            assert digest in self.manifests
            self.tags[tag] = digest
        self.changes += 1

    def digest(self, tag: str) -> str | None:
        """What ``tag`` names now, read without counting as a call floe made."""
        digest = self.tags.get(tag)
        return digest if digest in self.manifests else None


@dataclass
class Ledger:
    """One checkout: a manifest.yaml and its own SQLite ledger beside it."""

    name: str
    root: Path
    registry: SharedRegistry

    def __post_init__(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "manifest.yaml").write_text(MANIFEST)
        self.env = {"USER": self.name, "HOME": str(self.root),
                    "FLOE_STATE_DIR": str(self.root / "state")}
        self.config = load_manifest(self.root / "manifest.yaml")
        self.commands = 0
        self._reader: App | None = None

    def open(self) -> App:
        app = App(Settings.from_options(str(self.root / "manifest.yaml"), env=self.env))
        app.__dict__["registry"] = self.registry  # the fake stands in for the primary
        app.__dict__["manifest"] = self.config  # read once: YAML parsing is not under test
        return app

    @contextmanager
    def command(self) -> Iterator[App]:
        """One CLI invocation: a fresh App, closed (views folded) when it ends."""
        app = self.open()
        self.registry.writer = self.name
        self.commands += 1
        try:
            yield app
        finally:
            self.registry.writer = None
            app.close()

    def reader(self) -> App:
        """One App kept open for reading (an auditor's): a PUT through it is noted as no
        floe command's."""
        if self._reader is None:
            self._reader = self.open()
        return self._reader

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    @property
    def exists(self) -> bool:
        return (self.root / ".floe" / "ledger.sqlite").is_file()


def verify(app: App) -> VerifyOutcome:
    """``floe audit verify --registry``, in process."""
    return verify_ledger(app, ledger_rows(app), registry=True)


class LedgerWorld:
    """Ledgers ``a`` and ``b`` over one registry holding the releases in VERSIONS and one
    artifact no release names (what a hand-moved tag may point at)."""

    def __init__(self, root: Path) -> None:
        self.registry = SharedRegistry()
        self.release = {v: self.registry.push_artifact([f"release {v}".encode()], tag=v).digest
                        for v in VERSIONS}
        self.stranger = self.registry.push_artifact([b"not a release"]).digest
        self.registry.puts.clear()
        self.ledgers = {name: Ledger(name, root / name, self.registry) for name in ("a", "b")}

    def close(self) -> None:
        for ledger in self.ledgers.values():
            ledger.close()

    @staticmethod
    def actor(name: str) -> Actor:
        """The ledger's operator, as the registry authenticated them (break-glass needs it)."""
        return Actor(name, "0" * 31 + "1", Operator(name, "registry", authenticated=True,
                                                    subject=name))
