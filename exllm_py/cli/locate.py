"""Where the project root and the cassette dir are, found the way pytest and the plugin do.

The root is pytest's rootdir: the nearest directory, from the working
directory up, whose ``pytest.ini``, ``pyproject.toml`` (with
``[tool.pytest.ini_options]``), ``tox.ini`` (``[pytest]``) or ``setup.cfg``
(``[tool:pytest]``) configures pytest. The cassette dir is ``--dir``, else
the plugin's own rule (:func:`~exllm_py.testing.settings.resolve_cassette_dir`):
``EXLLM_TEST_CACHE_DIR``, else the ``exllm_cassette_dir`` ini option, else
``cassettes`` under the root. The state directory, where the pytest plugin
logs which cassettes test runs used, is under pytest's cache dir
(:func:`~exllm_py.testing.usage.state_dir_for`: the ``cache_dir`` ini option,
else ``.pytest_cache``).
"""

from __future__ import annotations

import configparser
import tomllib
from collections.abc import Mapping
from pathlib import Path

import attrs

from exllm_py.cli.context import CommandFailed
from exllm_py.testing.settings import resolve_cassette_dir
from exllm_py.testing.usage import UsageLog, state_dir_for

__all__ = ["Location", "find_root", "ini_value", "locate"]

_INI_OPTION = "exllm_cassette_dir"
# (file, section) in the order pytest looks for its configuration.
_INI_FILES = (
    ("pytest.ini", "pytest"),
    (".pytest.ini", "pytest"),
    ("pyproject.toml", None),
    ("tox.ini", "pytest"),
    ("setup.cfg", "tool:pytest"),
)


@attrs.frozen
class Location:
    """The project root (pytest's rootdir), the cassette dir and the state dir, all absolute."""

    root: Path
    cassette_dir: Path
    #: pytest's cache dir's ``d/exllm``; ``None``: the default one under the root.
    state_dir: Path | None = None

    @property
    def usage(self) -> UsageLog:
        """The log of when the cassette dir's cassettes were last used by a test run."""
        state_dir = state_dir_for(self.root) if self.state_dir is None else self.state_dir
        return UsageLog(state_dir, self.cassette_dir, self.root)


def locate(
    *, root: str | None, directory: str | None, cwd: Path, env: Mapping[str, str]
) -> Location:
    """The root and cassette dir from ``--root`` / ``--dir`` (relative to ``cwd``) or defaults."""
    if root is not None:
        project = (cwd / root).resolve()
        if not project.is_dir():
            raise CommandFailed(f"--root {root}: no such directory")
    else:
        project = find_root(cwd.resolve())
    if directory is not None:
        cassettes = (cwd / directory).resolve()
    else:
        cassettes = resolve_cassette_dir(project, ini_value(project, _INI_OPTION), env)
    if cassettes.exists() and not cassettes.is_dir():
        raise CommandFailed(f"the cassette dir {cassettes} is not a directory")
    return Location(project, cassettes, state_dir_for(project, ini_value(project, "cache_dir")))


def find_root(start: Path) -> Path:
    """The nearest directory from ``start`` up that configures pytest; else ``start``."""
    for directory in (start, *start.parents):
        if any(_configures_pytest(directory / name, section) for name, section in _INI_FILES):
            return directory
    return start


def ini_value(root: Path, name: str) -> str | None:
    """The ini option ``name`` from the pytest configuration file at ``root``, if set."""
    for file_name, section in _INI_FILES:
        path = root / file_name
        if not _configures_pytest(path, section):
            continue
        if section is None:
            table = _pyproject_table(path) or {}
            value = table.get(name)
            if isinstance(value, list):
                value = " ".join(str(item) for item in value)
            return None if value is None else str(value)
        parser = _ini(path)
        return parser.get(section, name, fallback=None) if parser is not None else None
    return None


def _configures_pytest(path: Path, section: str | None) -> bool:
    if not path.is_file():
        return False
    if section is None:
        return _pyproject_table(path) is not None
    if path.name in ("pytest.ini", ".pytest.ini"):
        return True  # pytest uses these even without a [pytest] section
    parser = _ini(path)
    return parser is not None and parser.has_section(section)


def _pyproject_table(path: Path) -> dict[str, object] | None:
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    table = document.get("tool", {}).get("pytest", {}).get("ini_options")
    return table if isinstance(table, dict) else None


def _ini(path: Path) -> configparser.ConfigParser | None:
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(path, encoding="utf-8")
    except (OSError, UnicodeDecodeError, configparser.Error):
        return None
    return parser
