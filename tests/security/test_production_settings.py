"""Production settings refuse to start without real secrets, and pass `manage.py check --deploy`."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run(*args, **env):
    environment = {k: v for k, v in os.environ.items()
                   if k not in ("SECRET_KEY", "PHANTOMS_PUBLIC_URL", "PHANTOMS_TOKEN_KEYS")}
    environment.update(DJANGO_SETTINGS_MODULE="phantoms.production", **env)
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=environment, capture_output=True,
                          text=True, timeout=120)


GOOD = {"SECRET_KEY": secrets.token_urlsafe(50), "ALLOWED_HOSTS": "phantoms.example",
        "PHANTOMS_TOKEN_KEYS": "Gq3Wc0RwcHx1pl8VtFYGCvTQzD3Ge7Z8yJ7mX0Ff4pE="}


@pytest.mark.parametrize(("missing", "env"), [
    ("SECRET_KEY", {k: v for k, v in GOOD.items() if k != "SECRET_KEY"}),
    ("SECRET_KEY", {**GOOD, "SECRET_KEY": "change-me"}),
    ("OPENAI_API_KEY", {**GOOD, "SCRIPT_PROVIDER": "openai", "OPENAI_API_KEY": "sandbox-key"}),
    ("OPENAI_API_KEY", {**GOOD, "VISUALS_PROVIDER": "openai", "OPENAI_API_KEY": "sandbox-key"}),
    ("PEXELS_API_KEY", {**GOOD, "VISUALS_PROVIDER": "pexels", "PEXELS_API_KEY": "sandbox-key"}),
    # Remote renders need an address the service can fetch media from and call back.
    ("PHANTOMS_PUBLIC_URL", {**GOOD, "RENDER_PROVIDER": "remote", "RENDER_SERVICE_KEY": secrets.token_urlsafe(30)}),
    ("ALLOWED_HOSTS", {k: v for k, v in GOOD.items() if k != "ALLOWED_HOSTS"}),
    # Platform tokens are encrypted with keys from the environment, never a generated one.
    ("PHANTOMS_TOKEN_KEYS", {k: v for k, v in GOOD.items() if k != "PHANTOMS_TOKEN_KEYS"}),
    ("PHANTOMS_TOKEN_KEYS", {**GOOD, "PHANTOMS_TOKEN_KEYS": "not-a-fernet-key"}),
])
def test_production_refuses_to_start_without_its_secrets(missing, env):
    result = run("check", **env)
    assert result.returncode != 0
    assert missing in result.stderr and "ImproperlyConfigured" in result.stderr


def test_check_deploy_is_clean():
    result = run("check", "--deploy", "--fail-level", "WARNING", **GOOD)
    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout


def test_development_secrets_are_random_per_installation(tmp_path):
    from phantoms.local_secrets import local_secret

    first = local_secret(tmp_path, "secret_key")
    assert len(first) >= 50 and local_secret(tmp_path, "secret_key") == first
    assert (tmp_path / "secrets" / "secret_key").stat().st_mode & 0o077 == 0
    assert local_secret(tmp_path / "elsewhere", "secret_key") != first
