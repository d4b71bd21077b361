"""The README's configuration table names every environment variable the code reads."""

import re
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]
READ_PATTERNS = [
    re.compile(r"env_(?:str|bool|int|host|list|rate|networks|money|choice|time_zone)\(\s*\"([A-Z0-9_]+)\""),
    re.compile(r"os\.environ(?:\.get)?[\(\[]\s*\"([A-Z0-9_]+)\""),
]
NOT_CONFIGURATION = {"DJANGO_SETTINGS_MODULE"}


def _variables_read_by(paths) -> set[str]:
    names = set()
    for path in paths:
        text = path.read_text()
        for pattern in READ_PATTERNS:
            names.update(pattern.findall(text))
    return names - NOT_CONFIGURATION


def test_every_environment_variable_is_documented():
    code = [*BASE_DIR.glob("config/*.py"), *BASE_DIR.glob("scripts/*.py"), *BASE_DIR.glob("*/providers/*.py")]
    readme = (BASE_DIR / "README.md").read_text()
    variables = _variables_read_by(code) | set(re.findall(r"\$\(([A-Z]+)\)", (BASE_DIR / "Makefile").read_text())) - {
        "VENV", "PY", "INSTALLED", "DEVDB", "ARGS", "CMD",
    }
    assert variables >= {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "DEBUG", "ALLOWED_HOSTS", "TIME_ZONE"}
    undocumented = sorted(name for name in variables if f"`{name}`" not in readme)
    assert undocumented == []
