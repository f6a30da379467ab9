"""API keys: stored hashed, compared in constant time, named in the change log by a short id."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass


def key_digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def key_id(digest: str) -> str:
    """A short, non-secret name for a key: what the change log records."""
    return "key-" + digest[:12]


def generate_key() -> str:
    return "kg_" + secrets.token_urlsafe(24)


@dataclass(frozen=True)
class KeyRing:
    """Hashes of the keys that may write, and of those that may only read."""

    write: tuple[str, ...]
    read: tuple[str, ...]

    @classmethod
    def from_keys(cls, write: list[str], read: list[str]) -> KeyRing:
        return cls(tuple(key_digest(k) for k in write), tuple(key_digest(k) for k in read))

    def _match(self, digest: str, digests: tuple[str, ...]) -> bool:
        # Compare against every key so timing does not reveal which (or whether one) matched.
        hit = False
        for d in digests:
            hit |= hmac.compare_digest(digest, d)
        return hit

    def role(self, key: str) -> str | None:
        """'write', 'read' or None for an unknown key."""
        digest = key_digest(key)
        if self._match(digest, self.write):
            return "write"
        if self._match(digest, self.read):
            return "read"
        return None
