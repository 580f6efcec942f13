#!/usr/bin/env python3
"""python-paillier (+ gmpy2) on the same test keys and operations as benches/paillier.rs.

Run through python_paillier.sh, which installs phe and gmpy2 into a virtualenv. Prints
operations per second, single-threaded.
"""
import struct
import sys
import time
from pathlib import Path

from phe import paillier
from phe.util import powmod

DATA = Path(__file__).resolve().parent.parent / "crates/privacy-mpc/tests/data"


def primes(name):
    b = bytes.fromhex((DATA / name).read_text().strip())
    i, vals = 5, []
    while i < len(b):
        n = struct.unpack(">I", b[i:i + 4])[0]
        vals.append(int.from_bytes(b[i + 4:i + 4 + n], "big"))
        i += 4 + n
    return vals


def rate(fn, seconds=2.0):
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        fn()
        count += 1
    return count / (time.perf_counter() - start)


def main():
    try:
        import gmpy2  # noqa: F401
        backend = "gmpy2"
    except ImportError:
        backend = "pure python"
    for bits in (2048, 3072):
        p, q = primes(f"paillier-{bits}-a.key.hex")
        pub = paillier.PaillierPublicKey(p * q)
        priv = paillier.PaillierPrivateKey(pub, p, q)
        a, b = pub.encrypt(123456789), pub.encrypt(123456789)
        results = {
            "encrypt (public key)": rate(lambda: pub.encrypt(123456789)),
            "decrypt (CRT)": rate(lambda: priv.decrypt(a)),
            "add": rate(lambda: a + b),
            "add plaintext": rate(lambda: a + 5),
            "scalar mul (16-bit)": rate(lambda: a * 40000),
            "modpow only, N^2 modulus, N exponent": rate(
                lambda: powmod(a.ciphertext(False), pub.n, pub.nsquare)),
        }
        for name, ops in results.items():
            print(f"python-paillier[{backend}] {bits}: {name}: {ops:,.0f} ops/s")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
