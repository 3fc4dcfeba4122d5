"""The embedded default's Redis: started by the first process, stopped by it, its data kept on disk."""

import os
import subprocess
import sys
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parent.parent
SETUP = "import django; django.setup(); from django.conf import settings; from phantoms.redis import get_redis; "


def embedded_env(var_dir: Path) -> dict:
    env = {**os.environ, "PHANTOMS_VAR_DIR": str(var_dir), "DJANGO_SETTINGS_MODULE": "phantoms.settings",
           "DATABASE_URL": f"sqlite:///{var_dir / 'db.sqlite3'}"}
    env.pop("REDIS_URL", None)
    return env


def python(code: str, env: dict, **kwargs):
    return subprocess.run([sys.executable, "-c", SETUP + code], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=60, **kwargs)


def answers(socket_path: str) -> bool:
    try:
        return redis.Redis(unix_socket_path=socket_path, socket_connect_timeout=1).ping()
    except redis.ConnectionError:
        return False


def test_the_process_that_started_the_server_stops_it_and_the_data_survives(tmp_path):
    env = embedded_env(tmp_path)
    first = python("get_redis().set('phantoms:kept', 'yes'); print(settings.REDIS_URL)", env)
    assert first.returncode == 0, first.stderr
    socket_path = first.stdout.strip().removeprefix("unix://")
    assert socket_path and not answers(socket_path)

    second = python("print(get_redis().get('phantoms:kept').decode())", env)
    assert second.returncode == 0, second.stderr
    assert second.stdout.strip() == "yes"


def test_a_process_that_attached_leaves_the_server_running(tmp_path):
    env = embedded_env(tmp_path)
    owner = subprocess.Popen([sys.executable, "-c", SETUP + "print(settings.REDIS_URL, flush=True); "
                              "import sys; sys.stdin.read()"],
                             env=env, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        socket_path = owner.stdout.readline().strip().removeprefix("unix://")
        attached = python("get_redis().set('phantoms:seen', '1'); print(settings.REDIS_URL)", env)
        assert attached.returncode == 0, attached.stderr
        assert attached.stdout.strip().removeprefix("unix://") == socket_path
        assert answers(socket_path)
    finally:
        owner.stdin.close()
        owner.wait(timeout=30)
    assert not answers(socket_path)



def test_the_server_still_stops_when_its_folder_was_removed_first(tmp_path):
    """A benchmark removes its temporary folder before exiting: Redis cannot save there, and must stop anyway."""
    var_dir = tmp_path / "var"
    var_dir.mkdir()
    env = embedded_env(var_dir)
    done = python(f"import shutil; print(settings.REDIS_URL, flush=True); get_redis().set('k', 'v'); "
                  f"shutil.rmtree({str(var_dir)!r})", env)
    assert done.returncode == 0, done.stderr
    socket_path = done.stdout.strip().removeprefix("unix://")
    assert socket_path and not answers(socket_path)
    assert "stopped without it" in done.stderr and "could not stop" not in done.stderr
