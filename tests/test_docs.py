"""The README documents every setting, every command and every make target."""
import re
from pathlib import Path

import pytest

from core.settings import SETTINGS

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", [s.name for s in SETTINGS])
def test_every_setting_is_in_the_settings_table(name):
    assert re.search(rf"^\|\s*`{name}`\s*\|", README, re.M), f"README settings table lacks {name}"


def _commands(module: str) -> list[str]:
    text = (ROOT / module / "__main__.py").read_text(encoding="utf-8")
    return re.findall(r'^\s+"([a-z-]+)": \(', text, re.M)


@pytest.mark.parametrize("cmd", [f"collector {c}" for c in _commands("collector")]
                         + [f"warehouse {c}" for c in _commands("warehouse")]
                         + [f"dashboard {c}" for c in _commands("dashboard")])
def test_every_command_is_documented(cmd):
    assert f"python -m {cmd}" in README


@pytest.mark.parametrize("target", re.findall(r"^([a-z-]+):.*## ", (ROOT / "Makefile").read_text(), re.M))
def test_every_make_target_is_documented(target):
    assert f"make {target}" in README
