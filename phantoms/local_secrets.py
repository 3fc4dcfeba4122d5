"""Secrets for a development or demo installation: random, made once, kept under VAR_DIR/secrets/.

So no secret has a value anyone could know in advance. Production sets them in the environment
(phantoms.production refuses to start otherwise).
"""

import os
import secrets
import time
from pathlib import Path


def local_secret(var_dir: Path, name: str, make=None) -> str:
    """The secret `name`, made by `make()` (default: 48 random url-safe bytes) the first time."""
    folder = Path(var_dir) / "secrets"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    try:
        # O_EXCL: of several processes starting at once, exactly one writes it; the others read it.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _ in range(50):
            value = path.read_text().strip()
            if value:
                return value
            # Another process created it a moment ago and is still writing.
            time.sleep(0.02)
        raise RuntimeError(f"{path} is empty: delete it and start again")
    value = make() if make is not None else secrets.token_urlsafe(48)
    with os.fdopen(fd, "w") as handle:
        handle.write(value)
    return value
