"""The signature check a promotion runs before writing any tag (FR-004, FR-018..FR-022).

Usage::

    verifier = SignatureVerifier(policy, trust_root="production",
                                 cache=SqliteVerdictCache(ledger_db))
    outcome = verifier.check(registry, digest, use_cache=True)   # domain.hooks.SignatureCheck
    # outcome.decision: proceed | warn | refuse; outcome.verdict: the SignatureVerdict as a dict
"""

from __future__ import annotations

import hashlib
from importlib import resources
from pathlib import Path

from floe_ledger.adapters.observability.logs import get_logger
from floe_ledger.adapters.signing.cache import VerdictCache
from floe_ledger.adapters.signing.cosign import verify_key_based
from floe_ledger.adapters.signing.cosign_keyless import CosignKeylessVerifier
from floe_ledger.adapters.signing.keyless import KeylessVerifier
from floe_ledger.adapters.signing.keys import TrustedKey, load_public_key
from floe_ledger.domain.model.errors import ConfigError
from floe_ledger.domain.model.signature import (
    SignatureVerdict,
    VerificationPolicy,
    decide,
    outcome_message,
    policy_fingerprint,
)
from floe_ledger.domain.model.values import check_digest
from floe_ledger.domain.services.ports import Registry, SignatureOutcome

BUILTIN_TRUST_ROOTS = ("production", "staging")

log = get_logger("floe.signing")


def trust_root_path(trust_root: str | Path) -> Path:
    """The ``trusted_root.json`` for ``production``, ``staging`` or a file path.

    Raises:
        ConfigError: the path does not exist.
    """
    if isinstance(trust_root, str) and trust_root in BUILTIN_TRUST_ROOTS:
        ref = resources.files("floe_ledger.adapters.signing") / f"trusted_root.{trust_root}.json"
        return Path(str(ref))
    path = Path(trust_root)
    if not path.is_file():
        raise ConfigError(
            f"Sigstore trust root {path} does not exist",
            hint="use 'production', 'staging' or the path of a trusted_root.json",
        )
    return path


class SignatureVerifier:
    """Verifies digests under one :class:`VerificationPolicy`.

    Public keys are read on first use; ``sigstore`` is imported only when a
    keyless check runs (``trusted_issuers`` configured and no key verified).

    Args:
        policy: the ``verification`` configuration.
        trust_root: ``"production"``, ``"staging"`` or the path of a pinned
            ``trusted_root.json`` (keyless only).
        cache: where verified verdicts are remembered (None: no caching).
        base_dir: directory relative ``public_keys`` paths are resolved against.
        docker_reference: the repository being verified (``host/repository``, or the
            layout's path); payloads must name it unless ``check_docker_reference`` is off.
        trust_root_from: where ``trust_root`` came from when it is not the default (e.g.
            ``FLOE_SIGSTORE_TRUST_ROOT``): the root in use is then announced as a warning
            on stderr when keyless verification runs, so it cannot be replaced silently.
    """

    def __init__(
        self,
        policy: VerificationPolicy,
        trust_root: str | Path = "production",
        cache: VerdictCache | None = None,
        *,
        base_dir: Path | None = None,
        docker_reference: str | None = None,
        trust_root_from: str | None = None,
    ) -> None:
        self.policy = policy
        self._cache = cache
        self._base_dir = base_dir
        self._reference = docker_reference if policy.check_docker_reference else None
        self._keys: list[TrustedKey] | None = None
        self._fingerprint: str | None = None
        self._trust_root = trust_root_path(trust_root) if policy.trusted_issuers else None
        self._trust_root_name = str(trust_root)
        self._trust_root_from = trust_root_from
        self._announced = False
        self._keyless = (
            KeylessVerifier(policy.trusted_issuers, self._trust_root, self._reference)
            if self._trust_root is not None
            else None
        )
        self._cosign_keyless = (
            CosignKeylessVerifier(policy.trusted_issuers, self._trust_root, self._reference)
            if self._trust_root is not None
            else None
        )

    @property
    def trust_root(self) -> str | None:
        """The Sigstore trust root in use, as recorded in verdicts: ``production``,
        ``staging`` or ``<path> (sha256:<hex>)``; None when keyless is not configured."""
        if self._trust_root is None:
            return None
        if self._trust_root_name in BUILTIN_TRUST_ROOTS:
            return self._trust_root_name
        return f"{self._trust_root} (sha256:{self._root_sha256()})"

    def _root_sha256(self) -> str:
        assert self._trust_root is not None
        return hashlib.sha256(self._trust_root.read_bytes()).hexdigest()

    def _announce_trust_root(self) -> None:
        """Warn (stderr) once when the trust root was replaced from outside the manifest."""
        if self._announced or self._trust_root is None or self._trust_root_from is None:
            return
        self._announced = True
        log.warning("signing.trust_root_replaced", source=self._trust_root_from,
                    trust_root=self.trust_root,
                    note="keyless signatures are verified against this root, "
                         "not the built-in production root")

    @property
    def keys(self) -> list[TrustedKey]:
        """The configured public keys, loaded once (ConfigError if one cannot be read)."""
        if self._keys is None:
            self._keys = [load_public_key(self._resolve(p)) for p in self.policy.public_keys]
        return self._keys

    def _resolve(self, path: str) -> Path:
        candidate = Path(path).expanduser()
        if self._base_dir is not None and not candidate.is_absolute():
            return self._base_dir / candidate
        return candidate

    @property
    def policy_fingerprint(self) -> str:
        """Hash of the key contents, identities and trust root: the cache key's second half."""
        if self._fingerprint is None:
            root = self._root_sha256() if self._trust_root is not None else ""
            self._fingerprint = policy_fingerprint(
                [k.fingerprint for k in self.keys], self.policy.trusted_issuers, root,
                self._reference,
            )
        return self._fingerprint

    def verify(self, registry: Registry, digest: str, *,
               use_cache: bool = True) -> SignatureVerdict:
        """Verify ``digest`` in ``registry`` under the policy.

        Returns:
            ``skipped`` when enforcement is off (the registry is not contacted);
            otherwise ``verified`` if any configured key or identity verifies,
            ``unsigned`` if no signature was found, ``failed`` if signatures were
            found but none is valid. ``cached`` is True when served from the cache.

        Raises:
            ConfigError: a configured key or trust root cannot be read.
            RegistryUnavailableError: the registry cannot be reached.
        """
        if self.policy.enforcement == "off":
            return SignatureVerdict(digest=digest, status="skipped", mode="none",
                           reasons=["verification.enforcement is off"])
        check_digest(digest)
        self._announce_trust_root()
        if use_cache and self._cache is not None:
            hit = self._cache.get(digest, self.policy_fingerprint)
            if hit is not None:
                return hit.model_copy(update={"cached": True})
        verdict = self._verify_uncached(registry, digest)
        if verdict.status == "verified" and self._cache is not None:
            self._cache.put(digest, self.policy_fingerprint, verdict)
        return verdict

    def check(self, registry: Registry, digest: str, *, use_cache: bool) -> SignatureOutcome:
        """The promotion hook (``domain.hooks.SignatureCheck``): verify and decide.

        Returns:
            The decision (``proceed``, ``warn`` or ``refuse``), the verdict as a
            dict (with ``enforcement``), and a short message.
        """
        verdict = self.verify(registry, digest, use_cache=use_cache)
        decision = decide(self.policy.enforcement, verdict)
        recorded = {**verdict.model_dump(mode="json"), "enforcement": self.policy.enforcement}
        if self.trust_root is not None and self.policy.enforcement != "off":
            recorded["trust_root"] = self.trust_root
        return SignatureOutcome(decision, recorded, outcome_message(decision, verdict))

    def _verify_uncached(self, registry: Registry, digest: str) -> SignatureVerdict:
        verdicts: list[SignatureVerdict] = []
        if self.policy.public_keys:
            verdicts.append(verify_key_based(registry, digest, self.keys, self._reference))
            if verdicts[-1].status == "verified":
                return verdicts[-1]
        for keyless in (self._keyless, self._cosign_keyless):
            if keyless is not None:
                verdicts.append(keyless.verify(registry, digest))
                if verdicts[-1].status == "verified":
                    return verdicts[-1]
        return _combine(digest, verdicts)


def _combine(digest: str, verdicts: list[SignatureVerdict]) -> SignatureVerdict:
    """One verdict from several unverified ones: failed if any failed, else unsigned."""
    failed = [v for v in verdicts if v.status == "failed"]
    relevant = failed or verdicts
    return SignatureVerdict(
        digest=digest,
        status="failed" if failed else "unsigned",
        mode=relevant[0].mode if len(relevant) == 1 else "none",
        # one fact once: the key and keyless `.sig` checks both report a missing tag
        reasons=list(dict.fromkeys(reason for v in verdicts for reason in v.reasons)),
    )
