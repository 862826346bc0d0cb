"""A small identity provider for the gateway's JWKS tests (Tests/EndToEndTests/IdentityProviderTests.swift): it makes
its own keys (RSA, P-256, Ed25519) with `cryptography`, signs tokens with PyJWT, and serves its key set.

    python3 identity_provider.py PORT

GET  /jwks.json           the public keys (503 while "down")
POST /token               {"kid", "alg"?, "header_kid"?, "claims"} → {"token"}; also {"attack": "none"|"hs256-public-key", "kid"}
POST /rotate              a new RSA key replaces the current one → {"kid"}
POST /down, /up           the key set answers 503, or again normally
GET  /fetches             how many times /jwks.json was asked for
"""

import base64
import hashlib
import hmac
import itertools
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

lock = threading.Lock()
serial = itertools.count(2)
keys = {
    "rsa-1": ("RS256", rsa.generate_private_key(public_exponent=65537, key_size=2048)),
    "ec-1": ("ES256", ec.generate_private_key(ec.SECP256R1())),
    "ed-1": ("EdDSA", ed25519.Ed25519PrivateKey.generate()),
}
state = {"down": False, "fetches": 0}


def public_jwk(kid, alg, key):
    public = key.public_key()
    if isinstance(public, rsa.RSAPublicKey):
        jwk = json.loads(RSAAlgorithm.to_jwk(public))
    elif isinstance(public, ec.EllipticCurvePublicKey):
        jwk = json.loads(ECAlgorithm.to_jwk(public))
    else:
        jwk = json.loads(OKPAlgorithm.to_jwk(public))
    jwk.update({"kid": kid, "use": "sig"})
    # The RSA key names its algorithm; the others leave it to their key type, as many providers do.
    if alg == "RS256":
        jwk["alg"] = alg
    return jwk


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def attack(kind, kid, claims):
    if kind == "none":
        header = {"alg": "none", "typ": "JWT", "kid": kid}
        return b64(json.dumps(header).encode()) + "." + b64(json.dumps(claims).encode()) + "."
    # Algorithm confusion: HS256 "signed" with the RSA public key's PEM, which anyone can download.
    _, key = keys[kid]
    secret = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    header = {"alg": "HS256", "typ": "JWT", "kid": kid}
    signing_input = b64(json.dumps(header).encode()) + "." + b64(json.dumps(claims).encode())
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + b64(signature)


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        with lock:
            if self.path == "/jwks.json":
                state["fetches"] += 1
                if state["down"]:
                    return self.answer(503, {"error": "down"})
                return self.answer(200, {"keys": [public_jwk(kid, alg, key) for kid, (alg, key) in keys.items()]})
            if self.path == "/fetches":
                return self.answer(200, {"fetches": state["fetches"]})
        self.answer(404, {})

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        request = json.loads(self.rfile.read(length) or b"{}")
        with lock:
            if self.path == "/token":
                kid = request["kid"]
                claims = request["claims"]
                if "attack" in request:
                    return self.answer(200, {"token": attack(request["attack"], kid, claims)})
                alg, key = keys[kid]
                # "header_kid" labels the token with another key id than the key that signed it (null: none at all).
                header = {"kid": request.get("header_kid", kid)} if request.get("header_kid", kid) is not None else {}
                token = jwt.encode(claims, key, algorithm=request.get("alg", alg), headers=header)
                return self.answer(200, {"token": token})
            if self.path == "/rotate":
                old = [kid for kid in keys if kid.startswith("rsa-")]
                kid = f"rsa-{next(serial)}"
                keys[kid] = ("RS256", rsa.generate_private_key(public_exponent=65537, key_size=2048))
                for retired in old:
                    del keys[retired]
                return self.answer(200, {"kid": kid})
            if self.path in ("/down", "/up"):
                state["down"] = self.path == "/down"
                return self.answer(200, {"down": state["down"]})
        self.answer(404, {})


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
    server.serve_forever()
