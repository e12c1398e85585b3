"""An OIDC issuer for tests: an RSA key, its JWKS file, and tokens signed with it."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

ISSUER = "https://token.actions.githubusercontent.com"
AUDIENCE = "floe"


class OidcIssuer:
    """Writes ``jwks.json`` into ``root``; :meth:`token` signs an ID token for ``floe``."""

    def __init__(self, root: Path) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        jwk.update({"kid": "k1", "use": "sig", "alg": "RS256"})
        (root / "jwks.json").write_text(json.dumps({"keys": [jwk]}))

    @staticmethod
    def config() -> dict[str, str]:
        """``identity.oidc`` of a manifest that trusts this issuer."""
        return {"issuer": ISSUER, "audience": AUDIENCE, "jwks_file": "jwks.json"}

    def token(self, **claims: Any) -> str:
        now = int(time.time())
        body = {"iss": ISSUER, "aud": AUDIENCE, "sub": "repo:acme/platform:ref:main",
                "email": "ci@acme.example", "email_verified": True,
                "groups": ["platform-admins"], "iat": now,
                "exp": now + 300, **claims}
        return jwt.encode(body, self.key, algorithm="RS256", headers={"kid": "k1"})
