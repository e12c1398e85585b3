"""The floe side of benchmarks/big_artifact.py, in its own process (so its peak RSS is its own).

Copies one artifact from a source repository to a replica the way `floe platform sync` and
every replica write do (``replicate_tags``: blobs, manifest, companions, then the tags, each
read back from the replica), and exits 1 if the replica's status is not ok.

    python benchmarks/_big_artifact_copy.py SRC_HOST SRC_REPO DST_HOST DST_REPO DIGEST TAG
"""

from __future__ import annotations

import sys

from floe_ledger.adapters.registry.distribution import DistributionRegistry
from floe_ledger.adapters.replication import replicate_tags


def main(argv: list[str]) -> int:
    src_host, src_repo, dst_host, dst_repo, digest, tag = argv
    source = DistributionRegistry(src_host, src_repo, plain_http=True)
    dest = DistributionRegistry(dst_host, dst_repo, plain_http=True)
    try:
        status = replicate_tags(source, dest, digest, [tag])
    finally:
        source.close()
        dest.close()
    if not status.ok:
        print(f"replica copy failed: {status.error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
