"""Cache keys every backend can store, whatever a request put in them.

Throttles key their counters on what the client sends (the address DRF reads from
`X-Forwarded-For`, a scope, a user id); a NUL or a 20,000-character header would end up in the
key, which PostgreSQL's cache table cannot store (a 500 on the next request) and memcached would
refuse. Such a key is replaced by its digest, here, once for every user of the cache; ordinary
keys are left as Django builds them.
"""

from __future__ import annotations

import hashlib

MAX_KEY_LENGTH = 250  # memcached's limit, and below the cache table's 255


def storable_key(key: str, key_prefix: str, version: int) -> str:
    """Django's `make_key` (`prefix:version:key`), with an unstorable key replaced by its SHA-256."""
    made = f"{key_prefix}:{version}:{key}"
    if len(made) <= MAX_KEY_LENGTH and all(32 < ord(char) != 127 for char in made):
        return made
    digest = hashlib.sha256(str(key).encode("utf-8", "surrogatepass")).hexdigest()
    return f"{key_prefix}:{version}:sha256:{digest}"
