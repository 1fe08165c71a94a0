#!/usr/bin/python3
"""Forges access tokens for the end-to-end attack checks: `forge-token.py <attack> <valid-token> <key.pem> [issuer] [audience]`.

Prints one token (without "Bearer "). <key.pem> is the mesh's real signing key (its data folder), so the claim checks
(expired, wrong issuer, …) are reached with a correct signature; the other attacks sign with keys the services do not
trust, or with none. Signing uses the openssl command line (no Python packages beyond the standard library).
"""
import base64, hashlib, hmac, json, subprocess, sys, tempfile, time


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def der_to_raw(der: bytes) -> bytes:
    """An ECDSA signature from openssl (DER SEQUENCE of r, s) as JWS wants it: r || s, 32 bytes each."""
    assert der[0] == 0x30
    i = 2 if der[1] < 0x80 else 2 + (der[1] & 0x7F)
    parts = []
    for _ in range(2):
        assert der[i] == 0x02
        length = der[i + 1]
        parts.append(der[i + 2:i + 2 + length].lstrip(b"\x00").rjust(32, b"\x00"))
        i += 2 + length
    return parts[0] + parts[1]


def openssl_sign(pem: str, data: bytes, rsa: bool = False) -> bytes:
    with tempfile.NamedTemporaryFile() as key_file:
        key_file.write(pem.encode())
        key_file.flush()
        signature = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key_file.name], input=data,
                                   capture_output=True, check=True).stdout
    return signature if rsa else der_to_raw(signature)


def new_key(kind: str) -> str:
    args = ["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"] if kind == "rsa" else \
        ["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]
    return subprocess.run(args, capture_output=True, check=True, text=True).stdout


def encode(header: dict, payload: dict) -> bytes:
    return (b64(json.dumps(header).encode()) + "." + b64(json.dumps(payload).encode())).encode()


def es256(header: dict, payload: dict, pem: str) -> str:
    signing_input = encode(header, payload)
    return signing_input.decode() + "." + b64(openssl_sign(pem, signing_input))


attack, valid, key_path = sys.argv[1], sys.argv[2], sys.argv[3]
real_key = open(key_path).read()
header = json.loads(unb64(valid.split(".")[0]))
claims = json.loads(unb64(valid.split(".")[1]))
now = int(time.time())

if attack == "alg-none":
    print(encode({"alg": "none", "typ": "JWT"}, dict(claims, role="admin")).decode() + ".")
elif attack == "hs256-with-public-key":
    public = subprocess.run(["openssl", "pkey", "-pubout"], input=real_key, capture_output=True, check=True,
                            text=True).stdout
    signing_input = encode(dict(header, alg="HS256"), dict(claims, role="admin"))
    print(signing_input.decode() + "." + b64(hmac.new(public.encode(), signing_input, hashlib.sha256).digest()))
elif attack == "changed-claims":
    parts = valid.split(".")
    print(parts[0] + "." + b64(json.dumps(dict(claims, role="admin", sub="someone-else")).encode()) + "." + parts[2])
elif attack == "foreign-key-same-kid":
    print(es256(header, claims, new_key("ec")))
elif attack == "jku-header-injection":
    print(es256(dict(header, jku="http://127.0.0.1:1/jwks.json", jwk={"kty": "EC"}), claims, new_key("ec")))
elif attack == "kid-path-traversal":
    print(es256(dict(header, kid="../../keys/local-1.pem"), claims, new_key("ec")))
elif attack == "rs256":
    signing_input = encode(dict(header, alg="RS256"), claims)
    print(signing_input.decode() + "." + b64(openssl_sign(new_key("rsa"), signing_input, rsa=True)))
elif attack == "jwe-shape":
    print(b64(json.dumps({"alg": "RSA-OAEP", "enc": "A256GCM", "zip": "DEF"}).encode()) + ".a2V5.aXY.Y2lwaGVy.dGFn")
elif attack == "expired":
    print(es256(header, dict(claims, iat=now - 1200, nbf=now - 1200, exp=now - 600), real_key))
elif attack == "not-yet-valid":
    print(es256(header, dict(claims, nbf=now + 600, exp=now + 900), real_key))
elif attack == "wrong-issuer":
    print(es256(header, dict(claims, iss="https://evil.example"), real_key))
elif attack == "wrong-audience":
    print(es256(header, dict(claims, aud="another-api"), real_key))
elif attack == "missing-exp":
    print(es256(header, {k: v for k, v in claims.items() if k != "exp"}, real_key))
elif attack == "oversized-64k":
    print(es256(header, dict(claims, padding="x" * 65536), real_key))
else:
    sys.exit(f"unknown attack {attack}")
