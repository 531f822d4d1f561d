"""Secrets at rest (trunk passwords, provider keys): Fernet-encrypted with the node's secret key."""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

SECRET_KEY_FILE = "secret.key"


class SecretBox:
    """Encrypts and decrypts short secrets with one Fernet key."""

    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)

    def encrypt(self, plain: str) -> str:
        """Encrypt a secret for storage."""
        return self._fernet.encrypt(plain.encode()).decode()

    def decrypt(self, token: str) -> str:
        """Decrypt a stored secret; raises ValueError when the key does not match."""
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken as exc:
            raise ValueError("stored secret cannot be decrypted with this node's secret_key") from exc


def write_private_file(path: Path, content: str) -> None:
    """Write a file only its owner can read (0600), creating parent directories."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(content)
    os.chmod(path, 0o600)


def load_or_create_key(configured: str | None, data_dir: Path) -> bytes:
    """The configured secret key, else the one in the data directory, created on first start."""
    if configured:
        key = configured.encode()
    else:
        path = data_dir / SECRET_KEY_FILE
        if not path.exists():
            write_private_file(path, Fernet.generate_key().decode())
        key = path.read_text().strip().encode()
    Fernet(key)  # fail at start, not at the first trunk, when the key is malformed
    return key
