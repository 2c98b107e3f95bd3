"""A small OpenID Connect issuer for tests, on localhost: keys made in the test, nothing fetched.

It serves what the API and the web page need from a real issuer (Cognito on AWS):
`/.well-known/openid-configuration`, the signing keys at `/jwks.json`, an `/authorize` endpoint
that signs in `signed_in` (whoever the test says) at once and sends the browser back with a code,
and a `/token` endpoint that checks the code's PKCE verifier (S256) before issuing an RS256 ID
token and access token. `token()` mints a token directly, with any claim overridden, so tests can
present expired, foreign or badly signed ones.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
import requests
from cryptography.hazmat.primitives.asymmetric import rsa

TOKEN_LIFETIME_SECONDS = 600


@dataclass(frozen=True)
class IssuerUser:
    subject: str
    email: str
    email_verified: bool = True


def new_signing_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass
class _PendingCode:
    user: IssuerUser
    client_id: str
    redirect_uri: str
    code_challenge: str
    nonce: str | None


@dataclass
class OidcIssuer:
    """The issuer on a background thread; `audience` is the one client it knows (public, PKCE)."""

    audience: str = "taskoverflow-web-page"
    host: str = "127.0.0.1"
    signed_in: IssuerUser = field(default_factory=lambda: IssuerUser("user-a", "a@example.com"))
    key: rsa.RSAPrivateKey = field(default_factory=new_signing_key)
    key_id: str = field(default_factory=lambda: secrets.token_hex(8))
    # How often the key set was fetched: what a flood of tokens naming unknown keys costs the issuer.
    jwks_fetches: int = field(default=0, init=False)
    _codes: dict[str, _PendingCode] = field(default_factory=dict, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def start(self) -> OidcIssuer:
        self._server = ThreadingHTTPServer((self.host, 0), self._handler_class())
        self.url = f"http://{self.host}:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="oidc-issuer", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    @property
    def jwks_url(self) -> str:
        return f"{self.url}/jwks.json"

    def settings(self) -> dict[str, str]:
        """The API's AUTH_* variables for this issuer."""
        return {"AUTH_JWKS_URL": self.jwks_url, "AUTH_ISSUER": self.url, "AUTH_AUDIENCE": self.audience}

    def token(
        self,
        user: IssuerUser,
        *,
        key: rsa.RSAPrivateKey | None = None,
        expires_in: float = TOKEN_LIFETIME_SECONDS,
        **claims: Any,
    ) -> str:
        """An ID token for `user`; `claims` override or add any claim (None removes one)."""
        now = int(time.time())
        payload: dict[str, Any] = {
            "iss": self.url,
            "aud": self.audience,
            "sub": user.subject,
            "email": user.email,
            "email_verified": user.email_verified,
            "iat": now,
            "exp": now + int(expires_in),
            "token_use": "id",
        }
        payload.update(claims)
        payload = {name: value for name, value in payload.items() if value is not None}
        return jwt.encode(payload, key or self.key, algorithm="RS256", headers={"kid": self.key_id})

    def session_for(self, user: IssuerUser) -> requests.Session:
        """An HTTP session that sends a token of `user`, made now, with every request."""
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {self.token(user)}"
        return session

    def _jwks(self) -> dict[str, Any]:
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        return {"keys": [{**public, "kid": self.key_id, "use": "sig", "alg": "RS256"}]}

    def _discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.url,
            "authorization_endpoint": f"{self.url}/authorize",
            "token_endpoint": f"{self.url}/token",
            "jwks_uri": self.jwks_url,
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
        }

    def _authorize(self, query: dict[str, str]) -> tuple[int, dict[str, str]]:
        """Sign `signed_in` in at once: a redirect back with a one-time code bound to the challenge."""
        if query.get("response_type") != "code" or query.get("client_id") != self.audience:
            return 400, {}
        if query.get("code_challenge_method") != "S256" or not query.get("code_challenge"):
            return 400, {}  # PKCE is required of a public client
        code = secrets.token_urlsafe(24)
        with self._lock:
            self._codes[code] = _PendingCode(
                self.signed_in, query["client_id"], query["redirect_uri"], query["code_challenge"], query.get("nonce")
            )
        back = {"code": code, **({"state": query["state"]} if "state" in query else {})}
        return 302, {"Location": f"{query['redirect_uri']}?{urlencode(back)}"}

    def _exchange(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            pending = self._codes.pop(form.get("code", ""), None)  # one use only
        if pending is None or form.get("grant_type") != "authorization_code":
            return 400, {"error": "invalid_grant"}
        if form.get("client_id") != pending.client_id or form.get("redirect_uri") != pending.redirect_uri:
            return 400, {"error": "invalid_grant"}
        verifier = form.get("code_verifier", "")
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if not verifier or challenge != pending.code_challenge:
            return 400, {"error": "invalid_grant", "error_description": "PKCE verification failed"}
        id_token = self.token(pending.user, nonce=pending.nonce)
        access_token = self.token(pending.user, aud=None, client_id=pending.client_id, token_use="access")
        return 200, {
            "id_token": id_token,
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": TOKEN_LIFETIME_SECONDS,
        }

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: Any) -> None:
                pass

            def _answer(self, status: int, body: dict[str, Any] | None = None, headers: dict[str, str] | None = None):
                payload = json.dumps(body).encode() if body is not None else b""
                self.send_response(status)
                # The page calls the token endpoint from its own origin, as it does Cognito's.
                self.send_header("Access-Control-Allow-Origin", "*")
                self.send_header("Access-Control-Allow-Headers", "Content-Type")
                self.send_header("Cache-Control", "no-store")
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                if body is not None:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_OPTIONS(self) -> None:
                self._answer(204, headers={"Access-Control-Allow-Methods": "POST"})

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                if url.path == "/.well-known/openid-configuration":
                    self._answer(200, issuer._discovery())
                elif url.path == "/jwks.json":
                    with issuer._lock:
                        issuer.jwks_fetches += 1
                    self._answer(200, issuer._jwks())
                elif url.path == "/authorize":
                    status, headers = issuer._authorize({k: v[0] for k, v in parse_qs(url.query).items()})
                    self._answer(status, None if status == 302 else {"error": "invalid_request"}, headers)
                else:
                    self._answer(404, {"error": "not found"})

            def do_POST(self) -> None:
                if urlsplit(self.path).path != "/token":
                    self._answer(404, {"error": "not found"})
                    return
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                self._answer(*issuer._exchange(form))

        return Handler
