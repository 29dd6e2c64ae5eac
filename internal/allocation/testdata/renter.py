#!/usr/bin/env python3
"""The Python renter's side of SN27 allocation, with the `cryptography`
package (an implementation we did not write).
  renter.py keygen PRIV_PATH   -> prints the public key PEM, writes the private key
  renter.py decrypt PRIV_PATH  -> reads base64 info on stdin, prints the decrypted JSON
"""
import base64
import sys

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa


def main():
    cmd, path = sys.argv[1], sys.argv[2]
    if cmd == "keygen":
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        with open(path, "wb") as f:
            f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))
        sys.stdout.write(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                       serialization.PublicFormat.SubjectPublicKeyInfo).decode())
    elif cmd == "decrypt":
        with open(path, "rb") as f:
            key = serialization.load_pem_private_key(f.read(), password=None)
        info = base64.b64decode(sys.stdin.read())
        plain = key.decrypt(info, padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA256()),
                                               algorithm=hashes.SHA256(), label=None))
        sys.stdout.write(plain.decode())


if __name__ == "__main__":
    main()
