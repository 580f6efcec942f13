#!/usr/bin/env python3
"""Writes wycheproof_style.json: hand-chosen vectors for privacy-mpc's deserializers.

Run from this folder: python3 make_vectors.py. Deterministic (fixed randomness), so the file
only changes when the cases do.
"""
import hashlib
import json
import random
import struct

rng = random.Random(7)


def field(b):
    return struct.pack(">I", len(b)) + b


def uint(n):
    return field(b"" if n == 0 else n.to_bytes((n.bit_length() + 7) // 8, "big"))


def obj(tag, *fields, version=1, magic=b"MPV"):
    return magic + bytes([version, tag]) + b"".join(fields)


def read_key(name):
    b = bytes.fromhex(open(name).read().strip())
    i, vals = 5, []
    while i < len(b):
        n = struct.unpack(">I", b[i:i + 4])[0]
        vals.append(int.from_bytes(b[i + 4:i + 4 + n], "big"))
        i += 4 + n
    return vals


p, q = read_key("paillier-2048-a.key.hex")
N = p * q
N2 = N * N
pub = obj(1, uint(N))
fp = hashlib.sha256(pub).digest()[:16]
r = rng.randrange(2, N)
good_c = (1 + 5 * N) * pow(r, N, N2) % N2

cases = []


def case(group, hexbytes, result, comment, error=None):
    cases.append((group, hexbytes, result, comment, error))


G = "PaillierPublicKey"
case(G, pub, "valid", "the 2048-bit test key")
case(G, pub[:4], "invalid", "truncated header", "Malformed")
case(G, b"MPX" + pub[3:], "invalid", "bad magic", "Malformed")
case(G, obj(1, uint(N), version=2), "invalid", "unknown version", "UnsupportedVersion")
case(G, obj(3, uint(N)), "invalid", "ciphertext tag where a key is due", "WrongObjectType")
case(G, pub + b"\x00", "invalid", "trailing byte", "Malformed")
case(G, obj(1, field(b"\x00" + N.to_bytes(256, "big"))), "invalid", "leading zero byte", "Malformed")
case(G, obj(1, uint(N + 1)), "invalid", "even modulus", "InvalidKey")
case(G, obj(1, uint(p * p)), "invalid", "perfect square p^2", "InvalidKey")
case(G, obj(1, uint(N * 3)), "invalid", "factor 3", "InvalidKey")
case(G, obj(1, uint(N * 65521)), "invalid", "factor 65521, the largest prime below 2^16", "InvalidKey")
case(G, obj(1, uint(p)), "invalid", "1024-bit modulus", "InvalidKey")
case(G, obj(1, uint((1 << 4096) + 1)), "invalid", "4097-bit modulus", "Malformed")
case(G, obj(1, struct.pack(">I", 300) + b"\x01" * 10), "invalid", "length past the end", "Malformed")

G = "PaillierCiphertext"
case(G, obj(3, field(fp), uint(good_c)), "valid", "an encryption of 5")
case(G, obj(3, field(fp), uint(0)), "invalid", "c = 0", "OutOfRange")
case(G, obj(3, field(fp), uint(N2)), "invalid", "c = N^2", "OutOfRange")
case(G, obj(3, field(fp), uint(N2 + 1)), "invalid", "c = N^2 + 1", "OutOfRange")
case(G, obj(3, field(fp), uint(N)), "invalid", "c = N, gcd(c, N) = N", "OutOfRange")
case(G, obj(3, field(fp), uint(p * 5)), "invalid", "gcd(c, N) = p", "OutOfRange")
case(G, obj(3, field(bytes(16)), uint(good_c)), "invalid", "another key's fingerprint", "KeyMismatch")
case(G, obj(3, field(fp[:15]), uint(good_c)), "invalid", "short fingerprint", "Malformed")
case(G, obj(3, field(fp), field(b"\x00" + good_c.to_bytes(512, "big"))), "invalid",
     "leading zero byte", "Malformed")
case(G, obj(3, field(fp), uint(1 << 4100)), "invalid", "longer than N^2 allows", "Malformed")

G = "PaillierModulusProof"
case(G, obj(4, struct.pack(">I", 8) + (7).to_bytes(8, "big"), *[uint(2)] * 7), "invalid",
     "seven rounds instead of eight", "Malformed")
case(G, obj(4, struct.pack(">I", 8) + (8).to_bytes(8, "big"), *[uint(2)] * 7), "invalid",
     "truncated after seven roots", "Malformed")
case(G, obj(4, struct.pack(">I", 8) + (8).to_bytes(8, "big"), *[uint(1)] * 8), "invalid",
     "roots that are not N-th roots of the challenges (rejected by verify)", "ProofRejected")
case(G, obj(4, struct.pack(">I", 8) + (8).to_bytes(8, "big"), *[uint(0)] * 8), "invalid",
     "zero roots (rejected by verify)", "ProofRejected")

BASE = bytes.fromhex("e2f2ae0a6abc4e71a884a961c500515f58e30b6aa582dd8db6a65945e08d2d76")
P25519 = (1 << 255) - 19
L = (1 << 252) + 27742317777372353535851937790883648493
NONCANONICAL_POINTS = [
    (P25519.to_bytes(32, "little"), "field element equal to p"),
    ((P25519 + 2).to_bytes(32, "little"), "field element above p"),
    (b"\xff" * 32, "all ones"),
    ((1).to_bytes(32, "little"), "negative field element (odd s)"),
    (bytes.fromhex("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
     "s = -1, which gives y = 0 (RFC 9496 invalid-encoding class)"),
]

G = "ElGamalPublicKey"
case(G, obj(5, field(BASE)), "valid", "the base point")
case(G, obj(5, field(bytes(32))), "invalid", "the identity (the only small-order element)", "OutOfRange")
for enc, why in NONCANONICAL_POINTS:
    case(G, obj(5, field(enc)), "invalid", why, "NonCanonical")
case(G, obj(5, field(BASE[:31])), "invalid", "31 bytes", "Malformed")

G = "ElGamalSecretKey"
case(G, obj(7, field((5).to_bytes(32, "little"))), "valid", "x = 5")
case(G, obj(7, field(bytes(32))), "invalid", "x = 0", "InvalidKey")
case(G, obj(7, field(L.to_bytes(32, "little"))), "invalid", "x = l (non-canonical)", "NonCanonical")
case(G, obj(7, field(((1 << 256) - 1).to_bytes(32, "little"))), "invalid", "x = 2^256 - 1",
     "NonCanonical")

G = "ElGamalCiphertext"
case(G, obj(6, field(BASE), field(bytes(32))), "valid", "identity c2 is a valid sum")
for enc, why in NONCANONICAL_POINTS:
    case(G, obj(6, field(BASE), field(enc)), "invalid", "c2: " + why, "NonCanonical")
case(G, obj(6, field(BASE)), "invalid", "one point only", "Malformed")

G = "PedersenCommitment"
case(G, BASE, "valid", "the base point")
for enc, why in NONCANONICAL_POINTS:
    case(G, enc, "invalid", why, "NonCanonical")

G = "SchnorrProof"
case(G, obj(8, field(b"schnorr"), field(BASE), field(L.to_bytes(32, "little"))), "invalid",
     "response = l (non-canonical)", "NonCanonical")
case(G, obj(8, field(b"chaum-pedersen"), field(BASE), field(bytes(32))), "invalid",
     "another proof type", "Malformed")
case(G, obj(8, field(b"schnorr"), field(b"\xff" * 32), field(bytes(32))), "invalid",
     "non-canonical commitment", "NonCanonical")

G = "RangeProof"
case(G, obj(8, field(b"range"), field(b"\x00" * 31)), "invalid", "not a bulletproof", "NonCanonical")
case(G, obj(8, field(b"range"), field(b"\xff" * (32 * 9))), "invalid",
     "scalars above l", "NonCanonical")

groups = {}
for i, (group, data, result, comment, error) in enumerate(cases, start=1):
    t = {"tcId": i, "comment": comment, "input": data.hex(), "result": result}
    if error:
        t["flags"] = [error]
    groups.setdefault(group, []).append(t)

doc = {
    "algorithm": "privacy-mpc deserializers",
    "header": ["Wycheproof-style vectors written for privacy-mpc; 'flags' names the MpcError",
               "variant expected. Paillier ciphertexts are under paillier-2048-a."],
    "numberOfTests": len(cases),
    "testGroups": [{"type": g, "tests": ts} for g, ts in groups.items()],
}
with open("wycheproof_style.json", "w") as f:
    json.dump(doc, f, indent=1)
    f.write("\n")
