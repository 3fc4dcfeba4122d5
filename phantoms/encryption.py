"""Secrets at rest: platform tokens are encrypted with a key list from the environment.

`PHANTOMS_TOKEN_KEYS` is a comma-separated list of Fernet keys (`cryptography`'s MultiFernet): the
first encrypts, every one of them decrypts, so a new key is put first, `manage.py rotate_token_keys`
re-encrypts every stored token with it, and the old key is dropped afterwards without losing a
channel. Unset (development, `make demo`, tests) a key is generated once under VAR_DIR/secrets/;
phantoms.production refuses to start without the variable.

A decrypted value is a `Secret`: its repr and str never show the value, so a token that reaches a
log line, an exception message or a debug page's local variables shows as `Secret('…')`.
"""

from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class Secret:
    """A value that is shown to nobody: `reveal()` is the one way to read it."""

    __slots__ = ("_value",)

    def __init__(self, value: str):
        self._value = str(value)

    def reveal(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __repr__(self) -> str:
        return "Secret('…')" if self._value else "Secret('')"

    __str__ = __repr__

    def __reduce__(self):
        raise TypeError("a Secret is not pickled (it would leave the process in clear)")


class UnreadableSecret(Exception):
    """Stored ciphertext that none of the configured keys opens (a key was dropped too early)."""


def parse_keys(raw) -> list[bytes]:
    keys = [key.strip() for key in (raw.split(",") if isinstance(raw, str) else raw) if key and key.strip()]
    if not keys:
        raise ImproperlyConfigured("PHANTOMS_TOKEN_KEYS: no key given (a comma-separated list of Fernet keys)")
    for position, key in enumerate(keys, 1):
        try:
            Fernet(key)
        except (ValueError, TypeError):
            # The key itself is never echoed: only which one of the list is wrong.
            raise ImproperlyConfigured(
                f"PHANTOMS_TOKEN_KEYS: key {position} is not a Fernet key (32 url-safe base64-encoded bytes; "
                "make one with `python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key())'`)")
    return [key.encode() if isinstance(key, str) else key for key in keys]


@cache
def _fernet(keys: tuple) -> MultiFernet:
    return MultiFernet([Fernet(key) for key in keys])


def fernet() -> MultiFernet:
    return _fernet(tuple(parse_keys(settings.TOKEN_KEYS)))


def encrypt(value: str | Secret) -> str:
    plain = value.reveal() if isinstance(value, Secret) else str(value)
    if not plain:
        return ""
    return fernet().encrypt(plain.encode()).decode()


def decrypt(ciphertext: str) -> Secret:
    if not ciphertext:
        return Secret("")
    try:
        return Secret(fernet().decrypt(ciphertext.encode()).decode())
    except InvalidToken:
        raise UnreadableSecret("a stored token cannot be decrypted with any key in PHANTOMS_TOKEN_KEYS")


def rotate(ciphertext: str) -> str:
    """The same secret encrypted with the first key (MultiFernet.rotate); empty stays empty."""
    if not ciphertext:
        return ""
    try:
        return fernet().rotate(ciphertext.encode()).decode()
    except InvalidToken:
        raise UnreadableSecret("a stored token cannot be decrypted with any key in PHANTOMS_TOKEN_KEYS")


def new_key() -> str:
    return Fernet.generate_key().decode()
