"""CI runs `.ci/run` on a clean clone: it must run the README's test command and can never pass by accident.

The Makefile's test recipe is run here with stand-in `ruff` and `pytest` programs, to show how it treats their
exit codes: pytest's 5 ("no tests collected") and 1 both fail the run, 0 passes it.
"""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _executable(path: Path, body: str) -> None:
    path.write_text("#!/bin/sh\n" + body + "\n", encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def _clean_env(**extra: str) -> dict[str, str]:
    # Not inherited from an outer `make test`: the inner make must read only what we give it.
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS", "MAKEOVERRIDES")}
    return {**env, "CI": "true", **extra}


def test_ci_entry_is_an_executable_bash_script_that_runs_make_test():
    script = ROOT / ".ci" / "run"
    assert os.access(script, os.X_OK)
    text = script.read_text(encoding="utf-8")
    assert text.startswith("#!/usr/bin/env bash\n")
    assert "set -euo pipefail" in text
    assert "make test" in text


@pytest.mark.parametrize("status", [2, 5])
def test_ci_entry_fails_when_make_fails(tmp_path: Path, status: int):
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    _executable(fake_bin / "make", f'echo "make $*" >> {tmp_path}/calls; exit {status}')
    result = subprocess.run(
        ["bash", str(ROOT / ".ci" / "run")],
        env=_clean_env(PATH=f"{fake_bin}:{os.environ['PATH']}"),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == status
    assert (tmp_path / "calls").read_text().split() == ["make", "test"]


@pytest.mark.parametrize(("pytest_status", "make_fails"), [(0, False), (1, True), (5, True)])
def test_make_test_fails_on_every_pytest_failure_including_no_tests(
    tmp_path: Path, pytest_status: int, make_fails: bool
):
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    _executable(fake_bin / "ruff", f'echo "ruff $*" >> {tmp_path}/calls')
    _executable(fake_bin / "pytest", f'echo "pytest $*" >> {tmp_path}/calls; exit {pytest_status}')
    stamp = tmp_path / "installed-stamp"
    stamp.touch()  # newer than pyproject.toml: the recipe does not reinstall
    result = subprocess.run(
        ["make", "-C", str(ROOT), "--no-print-directory", "test", f"BIN={fake_bin}", f"STAMP={stamp}"],
        env=_clean_env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert (result.returncode != 0) == make_fails, result.stdout + result.stderr
    calls = [line.strip() for line in (tmp_path / "calls").read_text().splitlines()]
    assert calls == ["ruff check .", "ruff format --check .", "pytest"]
    if pytest_status == 5:
        assert "collected no tests" in result.stderr
