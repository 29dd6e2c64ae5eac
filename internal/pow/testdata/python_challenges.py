#!/usr/bin/env python3
"""Makes SN27 challenges with Python's hashlib, an implementation independent
of ours, the way the Python SN27 validator does (v1.3+): shuffle the base
charset, take an alphabet, draw a password, 8 random bytes of salt as hex,
BLAKE2b-512 of password + salt. Prints JSON lines: the challenge fields plus
"password". Usage: python_challenges.py [COUNT] [SEED]"""
import hashlib
import json
import random
import string
import sys

BASE = string.ascii_letters + string.digits + "!@#$%^&*()-_+=[]{};:,.<>"
# Alphabets that stress quoting: a shell would mangle every one of these.
NASTY = ["$()&;<>*", "'\"`\\|$ ", "*?[]{}~!", ":;,.$&"]


def challenge(rng, chars, difficulty):
    password = "".join(rng.choice(chars) for _ in range(difficulty))
    salt = "%016x" % rng.getrandbits(64)
    digest = hashlib.blake2b((password + salt).encode("utf-8")).hexdigest()
    return {
        "challenge_hash": "$BLAKE2$" + digest,
        "challenge_salt": salt,
        "challenge_mode": "610",
        "challenge_chars": chars,
        "challenge_mask": "?1" * difficulty,
        "challenge_difficulty": difficulty,
        "password": password,
    }


def main():
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 8
    rng = random.Random(int(sys.argv[2]) if len(sys.argv) > 2 else 27)
    for i in range(count):
        if i % 2:
            chars = NASTY[(i // 2) % len(NASTY)]
        else:
            shuffled = list(BASE)
            rng.shuffle(shuffled)
            chars = "".join(shuffled[:10])
        print(json.dumps(challenge(rng, chars, 3 + i % 4)))


if __name__ == "__main__":
    main()
