"""The reference promote with nothing but the standard library: GET the manifest, PUT the
exact bytes to two tags. The floor a promote tool is measured against."""

from __future__ import annotations

import http.client
import sys

ACCEPT = ("application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json,"
          " application/vnd.docker.distribution.manifest.v2+json")


def main(host: str, repo: str, source: str, *targets: str) -> None:
    conn = http.client.HTTPConnection(host, timeout=10)
    conn.request("GET", f"/v2/{repo}/manifests/{source}", headers={"Accept": ACCEPT})
    resp = conn.getresponse()
    data, media_type = resp.read(), resp.headers["Content-Type"]
    digest = resp.headers["Docker-Content-Digest"]
    for tag in targets:
        conn.request("PUT", f"/v2/{repo}/manifests/{tag}", body=data,
                     headers={"Content-Type": media_type})
        put = conn.getresponse()
        put.read()
        if put.status != 201 or put.headers["Docker-Content-Digest"] != digest:
            sys.exit(f"PUT {tag}: {put.status}")


if __name__ == "__main__":
    main(*sys.argv[1:])
