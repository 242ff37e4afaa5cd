"""The README documents every setting, every command and every make target; .env.example
lists every setting; every error message the README's Troubleshooting quotes is still one
the code prints."""
import ast
import functools
import re
from pathlib import Path

import pytest

from core.settings import SETTINGS

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[2]
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


@pytest.mark.parametrize("setting", SETTINGS, ids=[s.name for s in SETTINGS])
def test_env_example_lists_every_setting_with_its_default(setting):
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    found = re.findall(rf"^# {setting.name}=(.*)$", text, re.M)
    assert len(found) == 1, f".env.example should list {setting.name} once, as '# {setting.name}=...'"
    # the line is meant to be uncommented as it is: load_dotenv_once takes the rest of the line
    assert found[0] == (setting.default or ""), f".env.example: {setting.name} should show its default"


# -- Troubleshooting: the messages it quotes are the program's own ---------------------------
SOURCES = ("collector", "core", "dashboard", "scripts", "warehouse")


def _string_literals(path: Path) -> list[str]:
    """Every string literal of a module but its docstrings; in f-strings each replacement
    field reads as '…'. Adjacent literals arrive joined (the parser does it)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
                  and node.body and isinstance(node.body[0], ast.Expr)
                  and isinstance(node.body[0].value, ast.Constant)}
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            out.append("".join(v.value if isinstance(v, ast.Constant) else "…" for v in node.values))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            out.append(node.value)
    return out


@functools.cache
def _program_texts() -> tuple[str, ...]:
    texts = [s for d in SOURCES for path in sorted((ROOT / d).rglob("*.py")) for s in _string_literals(path)]
    texts.append((ROOT / "Makefile").read_text(encoding="utf-8"))
    return tuple(" ".join(t.split()) for t in texts)


def _quoted_messages() -> list[str]:
    """The code spans inside bold text of the Troubleshooting section: the messages."""
    section = re.search(r"^## Troubleshooting\n(.*?)(?=^## |\Z)", README, re.M | re.S).group(1)
    spans = [m.group(2) for bold in re.findall(r"\*\*(.+?)\*\*", section, re.S)
             for m in re.finditer(r"(`+)(.+?)\1", bold, re.S)]
    return [" ".join(span.split()) for span in spans]


def _printed(message: str, texts: tuple[str, ...]) -> bool:
    """Whether some program text holds `message`, where '…' stands for any text."""
    pattern = re.compile(".*?".join(re.escape(part) for part in message.split("…")))
    return any(pattern.search(t) for t in texts)


MESSAGES = _quoted_messages()


def test_troubleshooting_quotes_the_errors_a_user_meets():
    assert len(MESSAGES) >= 20, MESSAGES
    for needed in ("INGEST_API_KEY", "API key not accepted", "another warehouse sync", "DATABASE_URL",
                   "Python 3.11 to 3.14", "is in use", "no channel could be leased", "S3_ENDPOINT_URL"):
        assert any(needed in m for m in MESSAGES), f"Troubleshooting has no message with {needed!r}"


@pytest.mark.parametrize("message", MESSAGES)
def test_troubleshooting_message_is_still_printed_by_the_code(message):
    assert _printed(message, _program_texts()), f"README Troubleshooting quotes {message!r}: no code prints it"


def test_troubleshooting_check_fails_on_an_invented_message():
    texts = _program_texts()
    assert _printed("refusing to listen on … without INGEST_API_KEY", texts)
    assert not _printed("refusing to listen on … without a password", texts)
    # a docstring's words are not a message (collector/ingest_cli.py says this in its docstring only)
    assert not _printed("Without INGEST_API_KEY it only listens on a loopback address", texts)


def test_readme_duckdb_query_on_the_lake_runs_and_counts_right(tmp_path):
    """The README's DuckDB query for engines elsewhere, run by plain DuckDB (no project
    code) on a fixture lake with the s3:// path swapped for the local one; its answer
    matches the analyst API's."""
    import duckdb

    import warehouse
    from tests.lakefixture import build_fixture_lake

    block = re.search(r"```sql\n(SELECT day, channel_id.*?)```", README, re.S).group(1)
    build_fixture_lake(tmp_path)
    query = block.replace("s3://bucket/prefix", str(tmp_path)).replace("DATE '2026-11-01'", "DATE '2000-01-01'")
    assert query != block
    got = duckdb.sql(query).pl()
    api = warehouse.activity(warehouse.open(str(tmp_path)), every="day")
    assert got["messages"].sum() == api["messages"].sum() > 0
    assert sorted(zip(got["channel_id"], got["day"], got["messages"], strict=True)) == sorted(
        zip(api["channel_id"], [b.date() for b in api["bucket"]], api["messages"], strict=True))


def _security_tests() -> list[str]:
    """The test references of README's Security section: `file.py::name`, a bare
    `::name` (same file as the reference before it) or a whole `file.py`."""
    section = README.split("## Security", 1)[1].split("\n## ", 1)[0]
    refs, last = [], None
    for ref in re.findall(r"`((?:(?:\w+/)?test_\w+\.py)?(?:::\w+)?)`", section):
        file, _, name = ref.partition("::")
        last = file or last
        if last:
            refs.append(f"{last}::{name}" if name else last)
    return refs


def test_security_section_names_tests():
    assert len(_security_tests()) >= 20


@pytest.mark.parametrize("ref", _security_tests())
def test_every_test_the_security_section_names_exists(ref):
    file, _, name = ref.partition("::")
    path = ROOT / "tests" / file
    assert path.exists(), f"README's Security section names {file}, which does not exist"
    if name:
        assert re.search(rf"^def {name}\(", path.read_text(encoding="utf-8"), re.M), \
            f"README's Security section names {ref}, which does not exist"
