"""The quickstart: publish a sample bundle into an OCI image-layout directory, promote it
dev -> staging -> prod with the real `floe` command, and print status. No server needed.

Run with `make demo`; it works in ./demo-out (recreated each run).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "demo-out"
FLOE = str(Path(sys.executable).parent / "floe")

MANIFEST = """\
# The embedded defaults: an OCI image-layout directory as the registry, and a SQLite
# ledger at .floe/ledger.sqlite beside this file. Environments default to dev, staging, prod.
artifacts:
  registry:
    uri: oci-layout:./registry
    verification:
      enforcement: enforce
      public_keys: [keys/cosign.pub]
  promotion:
    environments:
      - name: dev
      - name: staging
        gates:
          tests: true
      - name: prod
        gates:
          tests: true
          security_scan:
            report: scans/trivy-clean.json
            block_on_severity: [CRITICAL, HIGH]
    gate_commands:
      tests:
        command: [python3, -c, "print('checked ${ARTIFACT_REF} for ${TARGET_ENV}')"]
        timeout_seconds: 60
"""


def run(*args: str, check: bool = True) -> int:
    print(f"\n$ floe {' '.join(args)}", flush=True)
    proc = subprocess.run([FLOE, *args], cwd=OUT, check=False)
    if check and proc.returncode != 0:
        sys.exit(f"demo: 'floe {' '.join(args)}' exited {proc.returncode}")
    return proc.returncode


def main() -> None:
    shutil.rmtree(OUT, ignore_errors=True)
    (OUT / "bundle").mkdir(parents=True)
    (OUT / "scans").mkdir()
    (OUT / "manifest.yaml").write_text(MANIFEST)
    (OUT / "bundle" / "platform.yaml").write_text("compute: duckdb\norchestrator: dagster\n")
    (OUT / "bundle" / "policies.yaml").write_text("quality: strict\n")
    (OUT / "scans" / "trivy-clean.json").write_text('{"SchemaVersion": 2, "ArtifactName": "demo"}')
    run("artifact", "keygen", "keys/cosign")
    run("artifact", "push", "bundle/platform.yaml", "bundle/policies.yaml", "v1.0.0")
    run("artifact", "sign", "v1.0.0", "--key", "keys/cosign.key")
    run("platform", "promote", "v1.0.0", "--to", "dev")
    run("platform", "promote", "v1.0.0", "--from", "dev", "--to", "staging")
    run("platform", "promote", "v1.0.0", "--from", "staging", "--to", "prod", "--dry-run")
    run("platform", "promote", "v1.0.0", "--from", "staging", "--to", "prod")
    print("\n# skipping an environment is refused (exit 9):")
    run("platform", "promote", "v1.0.0", "--from", "dev", "--to", "prod", check=False)
    run("platform", "status", "--history", "3")
    run("audit", "verify")
    print(f"\nDemo files are in {OUT} (manifest.yaml, registry/, .floe/ledger.sqlite).")
    print("\n# see it in a browser (read-only dashboard on http://127.0.0.1:8765/):")
    print(f"{FLOE} serve --manifest {OUT / 'manifest.yaml'}")


if __name__ == "__main__":
    main()
