"""The layers in docs/architecture.md are checked, and a wrong import is caught.

`lint-imports` (import-linter, configured in pyproject.toml) runs in `make lint` and CI; these tests
prove its contracts hold today and fail on an import that breaks one.
"""

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
PACKAGES = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["root_packages"]


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=root, capture_output=True, text=True,
                          timeout=120, env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin",
                               # Wide enough that a contract's name is never wrapped onto two lines.
                               "COLUMNS": "400"})


@pytest.fixture
def copy_of_the_code(tmp_path):
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def plant(root: Path, module: str, line: str):
    path = root / (module.replace(".", "/") + ".py")
    path.write_text(path.read_text() + f"\n{line}\n")


def test_the_code_keeps_every_contract():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(("module", "line", "contract"), [
    ("phantoms.engine.claim", "import pipeline.models  # noqa", "The engine imports no app"),
    ("publishing.stages", "import sandbox.faults  # noqa", "The product never imports the tools"),
    ("analytics.services", "import pipeline.stages  # noqa", "Apps are layered"),
])
def test_a_planted_wrong_import_breaks_its_contract(copy_of_the_code, module, line, contract):
    plant(copy_of_the_code, module, line)
    result = lint_imports(copy_of_the_code)
    assert result.returncode != 0
    broken = [row for row in result.stdout.splitlines() if " BROKEN" in row]
    assert any(row.startswith(contract) for row in broken), result.stdout
