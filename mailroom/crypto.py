"""Mailbox secrets (IMAP passwords) encrypted at rest with Fernet.

The key: HELPDESK_MAILBOX_KEY, one or more Fernet keys separated by commas (make one with
`python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"`).
Without it, a key is derived from SECRET_KEY (HKDF-SHA256), so a fresh install is encrypted too.

Rotation: put the new key first in HELPDESK_MAILBOX_KEY and keep the old ones after it (every
key decrypts, the first encrypts), run `flask mailroom rotate-secrets` to re-encrypt every
stored password with the first key, then drop the old keys. Changing SECRET_KEY without a
HELPDESK_MAILBOX_KEY loses the derived key: set HELPDESK_MAILBOX_KEY to the old derived key
first (`flask mailroom rotate-secrets --print-derived-key`), or re-enter the passwords.
A value without the "fernet:" prefix is a password stored before encryption: it is read as
it is and encrypted by the next save or rotation.
"""
from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

PREFIX = "fernet:"


class SecretUnreadable(Exception):
    """A stored secret none of the configured keys opens."""


def derived_key(secret_key: str) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"helpdesk-mailroom", info=b"mailbox-secrets")
    return base64.urlsafe_b64encode(hkdf.derive(secret_key.encode()))


def _fernet() -> MultiFernet:
    configured = current_app.config.get("MAILBOX_KEY") or ""
    keys = [k.strip().encode() for k in configured.split(",") if k.strip()]
    if not keys:
        keys = [derived_key(current_app.config["SECRET_KEY"])]
    return MultiFernet([Fernet(k) for k in keys])


def encrypt(plain: str | None) -> str | None:
    if not plain:
        return None
    return PREFIX + _fernet().encrypt(plain.encode()).decode()


def decrypt(stored: str | None) -> str | None:
    if not stored:
        return None
    if not stored.startswith(PREFIX):
        return stored  # stored before encryption
    try:
        return _fernet().decrypt(stored[len(PREFIX):].encode()).decode()
    except InvalidToken:
        raise SecretUnreadable("No configured HELPDESK_MAILBOX_KEY opens this password; enter it again.") from None


def rotate(stored: str | None) -> str | None:
    """The same secret under the first key."""
    if not stored:
        return stored
    if not stored.startswith(PREFIX):
        return encrypt(stored)
    return PREFIX + _fernet().rotate(stored[len(PREFIX):].encode()).decode()
