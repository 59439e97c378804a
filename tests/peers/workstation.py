"""Pairs with a Lightbox practice server as a workstation does, written independently of
Lightbox from its documented rules: fetch the practice CA without trusting anything, check its
SHA-256 fingerprint against the first half of the one-time code (Crockford base 32 of the
fingerprint's first 40 bits), pin it, and only then send the code.

As a script: `workstation.py BASE CODE CA_OUT` prints `{"credential": ..., "id": ...}` or, if
the CA does not fit the code, `{"refused": "..."}` without sending the code."""

import hashlib
import json
import ssl
import sys
import urllib.parse
import warnings

import requests

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def normalise(code):
    letters = "".join(c for c in code.upper() if c not in "- ")
    return letters.replace("O", "0").replace("I", "1").replace("L", "1")


def ca_check(fingerprint):
    bits = int.from_bytes(fingerprint[:5], "big")
    return "".join(ALPHABET[(bits >> (5 * (7 - i))) & 31] for i in range(8))


def fetch_ca_unverified(base):
    """The CA as the server hands it out, before anything is trusted."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return requests.get(base + "/api/v1/tls/ca.pem", verify=False, timeout=10).text


def pair(base, code, ca_out):
    pem = fetch_ca_unverified(base)
    der = ssl.PEM_cert_to_DER_cert(pem)
    if normalise(code)[:8] != ca_check(hashlib.sha256(der).digest()):
        return {"refused": "the server's CA does not fit the code: someone may be in between"}
    with open(ca_out, "w") as f:
        f.write(pem)
    answer = requests.post(base + "/api/v1/workstations/pair", json={"code": code}, verify=ca_out, timeout=30)
    if answer.status_code != 201:
        return {"status": answer.status_code, "error": answer.json().get("error", "")}
    return {"credential": answer.json()["credential"], "id": answer.json()["id"], "name": answer.json()["name"]}


if __name__ == "__main__":
    base, code, ca_out = sys.argv[1:4]
    print(json.dumps(pair(base, code, ca_out), ensure_ascii=False))
