"""htpasswd lines for the console's nginx basic auth, without a `bcrypt` dependency.

ingress-nginx hands `$6$` (SHA-512 crypt) hashes to the C library's crypt(3), which supports
them on the controller's image; nginx itself only implements the much weaker `$apr1$` (MD5)
and `{SHA}` (unsalted SHA-1). Python 3.13 removed the `crypt` module, so SHA-512 crypt is
implemented here from Drepper's specification (the test checks the published test vector).
The default 5000 rounds are kept on purpose: nginx re-verifies the hash on every request the
console makes, and the password is 32 random characters, so more rounds would slow every page
without making a brute force any more practical.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

_B64 = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_DEFAULT_ROUNDS = 5000
_MAX_SALT = 16
# Byte order in which SHA-512 crypt encodes the final digest (from the specification).
_PERMUTATION = (
    (0, 21, 42), (22, 43, 1), (44, 2, 23), (3, 24, 45), (25, 46, 4), (47, 5, 26), (6, 27, 48),
    (28, 49, 7), (50, 8, 29), (9, 30, 51), (31, 52, 10), (53, 11, 32), (12, 33, 54),
    (34, 55, 13), (56, 14, 35), (15, 36, 57), (37, 58, 16), (59, 17, 38), (18, 39, 60),
    (40, 61, 19), (62, 20, 41),
)  # fmt: skip


def _b64_from_24bit(b2: int, b1: int, b0: int, n: int) -> str:
    w = (b2 << 16) | (b1 << 8) | b0
    out = []
    for _ in range(n):
        out.append(_B64[w & 0x3F])
        w >>= 6
    return "".join(out)


def _repeat_to(digest: bytes, length: int) -> bytes:
    return (digest * (length // len(digest) + 1))[:length]


def sha512_crypt(password: str, salt: str, rounds: int | None = None) -> str:
    """The `$6$` crypt(3) string for `password`; `rounds=None` means the implicit 5000."""
    if any(c not in _B64 for c in salt):
        raise ValueError("salt must use the crypt alphabet [./0-9A-Za-z]")
    p = password.encode("utf-8")
    s = salt[:_MAX_SALT].encode("ascii")
    n_rounds = _DEFAULT_ROUNDS if rounds is None else max(1000, min(rounds, 999_999_999))

    b = hashlib.sha512(p + s + p).digest()
    a = hashlib.sha512(p + s)
    a.update(_repeat_to(b, len(p)))
    i = len(p)
    while i > 0:
        a.update(b if i & 1 else p)
        i >>= 1
    c = a.digest()

    p_seq = _repeat_to(hashlib.sha512(p * len(p)).digest(), len(p))
    s_seq = _repeat_to(hashlib.sha512(s * (16 + c[0])).digest(), len(s))
    for r in range(n_rounds):
        h = hashlib.sha512(p_seq if r & 1 else c)
        if r % 3:
            h.update(s_seq)
        if r % 7:
            h.update(p_seq)
        h.update(c if r & 1 else p_seq)
        c = h.digest()

    encoded = "".join(_b64_from_24bit(c[x], c[y], c[z], 4) for x, y, z in _PERMUTATION)
    encoded += _b64_from_24bit(0, 0, c[63], 2)
    prefix = "$6$" if rounds is None else f"$6$rounds={n_rounds}$"
    return f"{prefix}{s.decode('ascii')}${encoded}"


def hash_password(password: str) -> str:
    salt = "".join(secrets.choice(_B64) for _ in range(_MAX_SALT))
    return sha512_crypt(password, salt)


def verify(password: str, hashed: str) -> bool:
    """True when `hashed` (a `$6$` string) was made from `password`; False for other schemes."""
    parts = hashed.split("$")
    if len(parts) < 4 or parts[1] != "6":
        return False
    rounds: int | None = None
    salt = parts[2]
    if salt.startswith("rounds="):
        if len(parts) < 5:
            return False
        rounds = int(salt.removeprefix("rounds="))
        salt = parts[3]
    try:
        expected = sha512_crypt(password, salt, rounds)
    except ValueError:
        return False
    return hmac.compare_digest(expected, hashed)


def line(user: str, password: str) -> str:
    """One htpasswd line (with newline), the format ingress-nginx's `auth-file` secret wants."""
    if ":" in user or "\n" in user or not user:
        raise ValueError("an htpasswd user name must be non-empty without ':' or newlines")
    return f"{user}:{hash_password(password)}\n"


def verify_line(content: str, user: str, password: str) -> bool:
    """True when `content` is exactly one htpasswd line for `user` matching `password`."""
    lines = content.splitlines()
    if len(lines) != 1 or ":" not in lines[0]:
        return False
    name, hashed = lines[0].split(":", 1)
    return name == user and verify(password, hashed)
