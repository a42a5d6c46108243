"""SHA-512 crypt must match crypt(3) bit for bit, or nginx rejects every console login."""

from __future__ import annotations

import importlib
import secrets
import warnings

import pytest

from platform_defs.k8s import htpasswd

# Test vectors from Drepper's "Unix crypt using SHA-256 and SHA-512" specification.
VECTORS = [
    (
        "Hello world!",
        "saltstring",
        None,
        "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1",
    ),
    (
        "Hello world!",
        "saltstringsaltstring",
        10000,
        "$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v.",
    ),
]


@pytest.mark.parametrize(("password", "salt", "rounds", "expected"), VECTORS)
def test_specification_vectors(password: str, salt: str, rounds: int | None, expected: str) -> None:
    assert htpasswd.sha512_crypt(password, salt, rounds) == expected
    assert htpasswd.verify(password, expected)


def test_matches_libc_crypt_for_many_lengths() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            crypt = importlib.import_module("crypt")
        except ImportError:
            pytest.skip("the crypt module is gone in this Python (3.13+)")
    for length in (0, 1, 31, 32, 63, 64, 65, 100):
        password = secrets.token_urlsafe(80)[:length]
        hashed = htpasswd.hash_password(password)
        assert crypt.crypt(password, hashed) == hashed


def test_line_and_verify_line() -> None:
    content = htpasswd.line("console-user", "a-long-random-secret")
    assert content.startswith("console-user:$6$") and content.endswith("\n")
    assert htpasswd.verify_line(content, "console-user", "a-long-random-secret")
    assert not htpasswd.verify_line(content, "console-user", "another-secret")
    assert not htpasswd.verify_line(content, "someone-else", "a-long-random-secret")
    assert not htpasswd.verify("x", "$apr1$abc$def")


def test_user_names_that_would_break_the_file_are_refused() -> None:
    for bad in ("", "a:b", "a\nb"):
        with pytest.raises(ValueError):
            htpasswd.line(bad, "secret-secret")
