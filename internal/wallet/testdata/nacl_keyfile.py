#!/usr/bin/python3
"""Encrypts and decrypts bittensor key files with PyNaCl, as bittensor v6's
keyfile.py (and btwallet) do, for internal/wallet's interop test.

Run with Debian's /usr/bin/python3 and python3-nacl. Line protocol, one JSON
object per line:
  in  {"password", "mnemonic", "seed", "public", "ss58"}
  out {"files": [b64, b64]}  two "$NACL" key files in v6's JSON: with the
                             phrase, and with secretPhrase null (seed only)
  in  {"file": b64}          a "$NACL" key file written by Go
  out {"plaintext": b64}     its decrypted JSON
The password never appears on the command line.
"""
import base64
import json
import sys

from nacl import pwhash, secret

# bittensor/keyfile.py and btwallet src/keyfile.rs
NACL_SALT = b"\x13q\x83\xdf\xf1Z\t\xbc\x9c\x90\xb5Q\x879\xe9\xb1"


def derive_key(password: str) -> bytes:
    return pwhash.argon2i.kdf(
        secret.SecretBox.KEY_SIZE,
        password.encode("utf-8"),
        NACL_SALT,
        opslimit=pwhash.argon2i.OPSLIMIT_SENSITIVE,
        memlimit=pwhash.argon2i.MEMLIMIT_SENSITIVE,
    )


def v6_keyfile(req: dict, with_phrase: bool) -> bytes:
    # serialized_keypair_to_keyfile_data in bittensor v6: this order, None for absent.
    return json.dumps({
        "accountId": req["public"],
        "publicKey": req["public"],
        "secretPhrase": req["mnemonic"] if with_phrase else None,
        "secretSeed": req["seed"],
        "ss58Address": req["ss58"],
    }).encode()


def main() -> None:
    req = json.loads(sys.stdin.readline())
    box = secret.SecretBox(derive_key(req["password"]))
    files = [b"$NACL" + bytes(box.encrypt(v6_keyfile(req, p))) for p in (True, False)]
    print(json.dumps({"files": [base64.b64encode(f).decode() for f in files]}), flush=True)

    data = base64.b64decode(json.loads(sys.stdin.readline())["file"])
    if not data.startswith(b"$NACL"):
        sys.exit("go file has no $NACL prefix")
    plain = box.decrypt(data[len(b"$NACL"):])  # nonce(24) ‖ MAC ‖ ciphertext
    print(json.dumps({"plaintext": base64.b64encode(plain).decode()}), flush=True)


if __name__ == "__main__":
    main()
