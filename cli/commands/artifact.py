"""``floe artifact``: publish, sign, verify and pull artifacts in the configured repository."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from floe_ledger.cli.app import App
from floe_ledger.cli.options import floe_command, writing
from floe_ledger.cli.output import Output
from floe_ledger.domain.model.errors import NotFoundError, SignatureError, UsageError


@click.group()
def artifact() -> None:
    """Publish, sign, verify and pull artifacts (REF is a tag or digest in the repository
    named by artifacts.registry.uri)."""


def _resolve(app: App, ref: str) -> str:
    found = app.registry.resolve(ref)
    if found is None:
        raise NotFoundError(f"{ref} is not in {app.registry.uri}",
                            hint="list tags with your registry tooling, or push it first")
    return found.digest


@click.command()
@click.argument("prefix", type=click.Path(dir_okay=False))
@click.option("--password-env", default=None, metavar="VAR",
              help="Encrypt the private key with the password in this environment variable.")
@floe_command(manifest_option=False)
def keygen(app: App, out: Output, prefix: str, password_env: str | None) -> None:
    """Create an ECDSA P-256 key pair: PREFIX.key (PKCS#8, mode 0600) and PREFIX.pub."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    password = os.environ.get(password_env, "").encode() if password_env else b""
    enc: Any = (serialization.BestAvailableEncryption(password) if password
                else serialization.NoEncryption())
    private = Path(f"{prefix}.key")
    public = Path(f"{prefix}.pub")
    if os.path.lexists(private):
        raise UsageError(f"{private} exists; a key is never overwritten",
                         hint="choose another PREFIX, or remove the old key first")
    with writing(f"the key pair {prefix}.key/.pub"):
        private.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(private, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8, enc))
        public.write_bytes(key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    if out.structured:
        out.result({"private_key": str(private), "public_key": str(public)})
    else:
        out.console.print(f"wrote {private} (keep it secret) and {public} "
                          "(list it under artifacts.registry.verification.public_keys)")


@click.command()
@click.argument("args", nargs=-1, required=True, metavar="FILE... REF")
@click.option("--artifact-type", default="application/vnd.floe.bundle.v1", show_default=True)
@click.option("--annotation", "annotations", multiple=True, metavar="KEY=VALUE")
@floe_command()
def push(app: App, out: Output, args: tuple[str, ...], artifact_type: str,
         annotations: tuple[str, ...]) -> None:
    """Publish FILE... as a new OCI artifact tagged REF (e.g. a release tag v1.2.3)."""
    from floe_ledger.adapters.registry.artifacts import push_files

    if len(args) < 2:
        raise UsageError("give at least one FILE and a REF",
                         hint="floe artifact push a.yaml v1.0.0")
    *files, ref = args
    notes = dict(a.split("=", 1) for a in annotations if "=" in a)
    result = push_files(app.registry, [Path(f) for f in files], ref,
                        artifact_type=artifact_type, annotations=notes or None)
    if out.structured:
        out.result({"reference": ref, "digest": result.digest, "registry": app.registry.uri})
    else:
        out.console.print(f"pushed {len(files)} file(s) as {ref}: {result.digest}")


@click.command()
@click.argument("ref")
@click.option("--key", "key", required=True, type=click.Path(exists=True, dir_okay=False),
              help="PKCS#8 PEM private key (ECDSA P-256, RSA or Ed25519).")
@click.option("--password-env", default=None, metavar="VAR",
              help="Environment variable holding the key's password.")
@floe_command()
def sign(app: App, out: Output, ref: str, key: str, password_env: str | None) -> None:
    """Sign REF's digest in cosign's layout (tag sha256-<hex>.sig)."""
    from floe_ledger.adapters.signing.cosign import sign as cosign_sign

    digest = _resolve(app, ref)
    password = os.environ.get(password_env) if password_env else None
    result = cosign_sign(app.registry, digest, key, app.docker_reference, password=password)
    payload = {"digest": digest, "signature_tag": result.tag,
               "key_fingerprint": result.key_fingerprint, "added": result.added}
    if out.structured:
        out.result(payload)
    else:
        word = "signed" if result.added else "already signed by this key"
        out.console.print(f"{word}: {ref} ({digest}) -> {result.tag}")


@click.command()
@click.argument("ref")
@click.option("--no-cache", is_flag=True, help="Verify again even if a verdict is cached.")
@floe_command()
def verify(app: App, out: Output, ref: str, no_cache: bool) -> None:
    """Verify REF's signature with the configured keys and identities (exit 6 if it fails)."""
    digest = _resolve(app, ref)
    verdict = app.signature_verifier(force=True).verify(app.registry, digest,
                                                        use_cache=not no_cache)
    data = verdict.model_dump(mode="json")
    if not verdict.verified:
        raise SignatureError(f"signature verification failed for {ref} ({digest}): "
                             + ("; ".join(verdict.reasons) or verdict.status),
                             hint="sign it with 'floe artifact sign REF --key KEY'",
                             details={"verdict": data})
    if out.structured:
        out.result({"digest": digest, "verdict": data})
    else:
        from floe_ledger.cli.render.text import escape

        out.console.print(f"[green]{escape(verdict.summary())}[/green]: {escape(ref)} ({digest})")


@click.command()
@click.argument("ref")
@click.option("-d", "--dest", required=True, type=click.Path(file_okay=False),
              help="Directory to write the artifact's files into.")
@floe_command()
def pull(app: App, out: Output, ref: str, dest: str) -> None:
    """Verify REF (per artifacts.registry.verification) before writing any file, then pull it.

    Layers stream into DEST whatever their size (never whole in memory, 4 at
    once), each checked against its digest as it arrives; if one does not match
    (exit 14), no file is left behind.
    """
    from floe_ledger.adapters.registry.pull import pull_files

    digest = _resolve(app, ref)
    verifier = app.signature_verifier()
    status = "skipped (enforcement off)"
    if verifier is not None:
        outcome = verifier.check(app.registry, digest, use_cache=True)
        if outcome.decision == "refuse":
            raise SignatureError(f"{ref}: {outcome.message}",
                                 hint="nothing was written; sign the artifact or fix the "
                                 "verification settings", details={"verdict": outcome.verdict})
        status = outcome.message  # verified: who signed, as everywhere (signature.signer)
        if outcome.decision == "warn" and not out.structured:
            out.warn(outcome.message)
    with writing(dest):
        files = pull_files(app.registry, digest, Path(dest))
    if out.structured:
        out.result({"digest": digest, "files": [str(f) for f in files], "signature": status})
    else:
        out.console.print(f"{status}; wrote {len(files)} file(s) to {dest}")


@click.command("attach-bundle")
@click.argument("ref")
@click.argument("bundle", type=click.Path(exists=True, dir_okay=False))
@click.option("--payload", type=click.Path(exists=True, dir_okay=False), default=None,
              help="the cosign simple-signing payload a message-signature bundle signs "
                   "(it must name REF's manifest digest)")
@floe_command()
def attach_bundle(app: App, out: Output, ref: str, bundle: str, payload: str | None) -> None:
    """Attach a Sigstore bundle to REF as a referrer: a DSSE in-toto statement naming REF's
    digest, or `cosign sign-blob --bundle` over a simple-signing payload (--payload)."""
    from floe_ledger.adapters.signing.keyless import attach_bundle as attach

    digest = _resolve(app, ref)
    referrer = attach(app.registry, digest, Path(bundle).read_bytes(),
                      Path(payload).read_bytes() if payload else None)
    if out.structured:
        out.result({"digest": digest, "referrer": referrer})
    else:
        out.console.print(f"attached {bundle} to {ref} as {referrer}")


for _command in (keygen, push, sign, verify, pull, attach_bundle):
    artifact.add_command(_command)
