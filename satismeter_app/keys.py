"""Keys and secrets: public write keys, secret API keys stored hashed, verification secrets."""

import hashlib
import hmac
import re
import secrets
import string
from typing import NamedTuple

_ALPHABET = string.ascii_letters + string.digits
API_KEY_PREFIX_LENGTH = 8
API_KEY_SECRET_LENGTH = 32


def random_token(length: int) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def new_write_key() -> str:
    return random_token(24)


# Any write key this app makes (letters and digits) or SatisMeter made, with room to spare.
_WRITE_KEY_SHAPE = re.compile(r"[A-Za-z0-9_-]{1,64}")


def may_be_write_key(text: str) -> bool:
    """Whether ``text`` could be some project's write key. What cannot is refused before it
    names a cache key (rate limits, the configuration's version) or reaches a query."""
    return _WRITE_KEY_SHAPE.fullmatch(text) is not None


def new_verification_secret() -> str:
    return random_token(40)


def hash_api_key(key: str) -> str:
    """SHA-256 is enough here: API keys are long random tokens, not passwords."""
    return hashlib.sha256(key.encode()).hexdigest()


class NewApiKey(NamedTuple):
    key: str  # shown once, never stored
    prefix: str  # stored and shown, identifies the key
    hashed: str


def new_api_key() -> NewApiKey:
    prefix = "sk_" + random_token(API_KEY_PREFIX_LENGTH)
    key = f"{prefix}.{random_token(API_KEY_SECRET_LENGTH)}"
    return NewApiKey(key=key, prefix=prefix, hashed=hash_api_key(key))


def api_key_prefix(key: str) -> str | None:
    """The prefix of a key in our format, or None for anything else."""
    prefix, dot, secret = key.partition(".")
    if not dot or not prefix.startswith("sk_") or len(secret) != API_KEY_SECRET_LENGTH:
        return None
    return prefix


def api_key_matches(key: str, hashed: str) -> bool:
    return hmac.compare_digest(hash_api_key(key), hashed)


def user_hash(user_id: str, secret: str) -> str:
    """Identity verification: hex HMAC-SHA256 of the user id keyed with the project secret."""
    return hmac.new(secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()
