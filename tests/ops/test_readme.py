"""The README tells the truth about set-up and configuration: its commands exist, its one table is complete."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
SETTING = re.compile(r"\b(CHIBO_[A-Z0-9_]*[A-Z0-9])\b")


def _table() -> dict[str, str]:
    """Variable -> who reads it, from the configuration table (several variables may share a row)."""
    section = README.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0].startswith("`"):
            for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", cells[0]):
                rows[name] = cells[1]
    return rows


def _source_text() -> str:
    files = [*ROOT.glob("meeting/**/*.py"), *ROOT.glob("signaling/**/*.py")]
    return "\n".join(path.read_text(encoding="utf-8") for path in files)


def test_the_two_commands_are_make_targets_and_ci_runs_the_second():
    block = README.split("## Two commands", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    commands = [line.split("#", 1)[0].strip() for line in block.strip().splitlines()]
    assert commands == ["make demo", "make test"]
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^demo: ", makefile, re.MULTILINE) and re.search(r"^test: ", makefile, re.MULTILINE)
    assert re.search(r"^\t\$\(BIN\)/chibo demo$", makefile, re.MULTILINE)
    assert "exec make test" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_every_setting_the_code_reads_is_in_the_one_table():
    read = set(SETTING.findall(_source_text()))
    assert read, "no settings found: the scan is broken"
    missing = read - set(_table())
    assert not missing, f"add to the README configuration table: {sorted(missing)}"


def test_every_row_of_the_table_is_read_by_who_it_says():
    source = _source_text()
    compose = (ROOT / "docker" / "compose.yaml").read_text(encoding="utf-8")
    table = _table()
    assert {"DATABASE_URL", "CHIBO_SECRET_KEY", "CHIBO_ENV", "CHIBO_PUBLIC_URL", "CHIBO_LOG_FORMAT"} <= set(table)
    for name, reader in table.items():
        if reader.startswith("app"):
            assert re.search(rf"\b{name}\b", source), f"{name}: the table says the app reads it; nothing does"
        elif reader == "compose":
            assert f"${{{name}" in compose, f"{name}: the table says compose uses it; compose.yaml does not"
        else:
            assert reader == "uvicorn" and name == "FORWARDED_ALLOW_IPS", f"{name}: unknown reader {reader!r}"


def test_every_variable_compose_needs_is_in_the_table():
    compose = (ROOT / "docker" / "compose.yaml").read_text(encoding="utf-8")
    needed = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", compose))
    assert needed and needed <= set(_table()), sorted(needed - set(_table()))


def test_layout_names_only_folders_that_exist():
    block = README.split("## Layout", 1)[1].split("```", 2)[1]
    folders = re.findall(r"^([a-z]+)/", block, re.MULTILINE)
    assert {"meeting", "signaling", "static", "tests", "bench", "docker", "scripts"} <= set(folders)
    for folder in folders:
        assert (ROOT / folder).is_dir(), folder
