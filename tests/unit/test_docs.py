"""The README and docs/ stay true: every setting, command, option, make target, benchmark and
link they name exists.

Settings come from the settings models (their fields and environment prefixes), commands and
options from the ``riskstream`` command tree as click builds it, not from reading the code.
"""

import re
from pathlib import Path

import pytest
import typer.main
from pydantic_settings import BaseSettings

from streams.cli.commands import app
from streams.settings import Settings

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
PAGES = sorted((REPO / "docs").glob("*.md"))
DOCUMENTS = [README, *PAGES]

# Read by the test harness and the local scripts, not by riskstream itself: where each is read.
NOT_SETTINGS = {
    "RISKSTREAM_TEST_BROKER": "tests/conftest.py",
    "RISKSTREAM_TEST_REDIS": "tests/conftest.py",
    "RISKSTREAM_RUN_DIR": "deploy/local/kafka.sh",
    "RISKSTREAM_SCREENSHOTS": "tests/browser/test_console_pages.py",
}

_NAME = re.compile(r"\bRISKSTREAM_[A-Z0-9_]+(?![A-Za-z0-9])(\*?)")
_FRAGMENT = re.compile(r"`(_[A-Z][A-Z0-9_]*)`|RISKSTREAM_[A-Z0-9_]+`?\s*(…|\.\.\.)")
_FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.S | re.M)
_SPAN = re.compile(r"`([^`\n]+)`")
_COMMAND = re.compile(r"(?<![\w-])riskstream ([a-z][a-z-]*)(?: ([a-z][a-z-]*))?")
_OPTION = re.compile(r"(?<![\w-])(--[a-z][a-z-]*|-[a-z])\b")
_MAKE = re.compile(r"(?<![\w-])make ([a-z][a-z-]*)")
_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
_HEADING = re.compile(r"^#{1,6} (.+)$", re.M)


def setting_names(model: type[BaseSettings] = Settings) -> set[str]:
    """Every environment variable ``model`` reads, nested settings under their own prefix."""
    prefix = model.model_config["env_prefix"]
    names = set()
    for field, info in model.model_fields.items():
        names.add(f"{prefix}{field}".upper())
        if isinstance(info.annotation, type) and issubclass(info.annotation, BaseSettings):
            names |= setting_names(info.annotation)
    return names


def command_tree() -> dict[str, object]:
    """``{"worker": {options}, "control": {"publish": {options}, ...}, ...}``."""

    def walk(command) -> object:
        if hasattr(command, "commands"):
            return {name: walk(sub) for name, sub in command.commands.items()}
        return {opt for param in command.params for opt in [*param.opts, *param.secondary_opts]}

    tree = walk(typer.main.get_command(app))
    assert isinstance(tree, dict)
    return tree


def code(text: str) -> list[str]:
    """The code of a Markdown text: each line of its fenced blocks and each inline code span."""
    blocks = [line for block in _FENCE.findall(text) for line in block.splitlines()]
    prose = _FENCE.sub("", text)
    return blocks + _SPAN.findall(prose)


def setting_problems(text: str, known: set[str]) -> list[str]:
    problems = []
    for match in _NAME.finditer(text):
        name = match[0].rstrip("*")
        if match[1] or name.endswith("_"):  # a family: RISKSTREAM_TOPIC_*
            if not any(known_name.startswith(name) for known_name in known):
                problems.append(f"no setting starts with {name}")
        elif name not in known:
            problems.append(f"no setting {name}")
    for match in _FRAGMENT.finditer(text):
        problems.append(f"write the full name of each setting, not {match[0]!r}")
    return problems


def command_problems(text: str, tree: dict[str, object]) -> list[str]:
    problems = []
    for snippet in code(text):
        segments = re.split(r"(?=(?<![\w-])riskstream )", snippet)
        for segment in segments:
            found = _COMMAND.match(segment)
            if not found:
                continue
            name, sub = found[1], found[2]
            if name not in tree:
                problems.append(f"no command `riskstream {name}` (in {snippet!r})")
                continue
            node = tree[name]
            rest = segment[found.end(1) :]
            if isinstance(node, dict):
                if sub is None:
                    continue
                if sub not in node:
                    problems.append(f"no command `riskstream {name} {sub}` (in {snippet!r})")
                    continue
                node, rest = node[sub], segment[found.end(2) :]
            assert isinstance(node, set)
            rest = re.split(r"\s#|;|\|", rest)[0]  # up to a comment or another command
            for option in _OPTION.findall(rest):
                if option not in node and option != "--help":
                    problems.append(f"`riskstream {name}` has no option {option} ({snippet!r})")
    return problems


def make_problems(text: str, makefile: str) -> list[str]:
    targets = set(re.findall(r"^([a-z][a-z-]*):", makefile, re.M))
    return [
        f"no make target {target!r}"
        for snippet in code(text)
        for target in _MAKE.findall(snippet)
        if target not in targets
    ]


def anchor(heading: str) -> str:
    """The id GitHub gives a heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def link_problems(document: Path) -> list[str]:
    problems = []
    for target in _LINK.findall(document.read_text()):
        if re.match(r"[a-z]+:", target):
            continue  # http(s), mailto: not checked here
        path, _, fragment = target.partition("#")
        resolved = (document.parent / path).resolve() if path else document
        if not resolved.exists():
            problems.append(f"{document.name}: {target} does not exist")
        elif fragment and resolved.suffix == ".md":
            anchors = {anchor(heading) for heading in _HEADING.findall(resolved.read_text())}
            if fragment not in anchors:
                problems.append(f"{document.name}: {target}: no heading #{fragment}")
    return problems


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: path.name)
def test_every_code_block_is_closed(document: Path):
    """Else the checks below would read prose as code and code as prose."""
    assert len(re.findall(r"^```", document.read_text(), re.M)) % 2 == 0


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: path.name)
def test_every_setting_named_exists(document: Path):
    known = setting_names() | set(NOT_SETTINGS)
    assert setting_problems(document.read_text(), known) == []


def test_the_variables_that_are_not_settings_are_read_where_said():
    for name, where in NOT_SETTINGS.items():
        assert name in (REPO / where).read_text(), (name, where)
        assert name not in setting_names()


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: path.name)
def test_every_command_and_option_named_exists(document: Path):
    assert command_problems(document.read_text(), command_tree()) == []


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: path.name)
def test_every_make_target_named_exists(document: Path):
    assert make_problems(document.read_text(), (REPO / "Makefile").read_text()) == []


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: path.name)
def test_every_relative_link_points_to_a_file_and_heading_that_exist(document: Path):
    assert link_problems(document) == []


def test_the_configuration_page_names_every_setting():
    page = (REPO / "docs" / "configuration.md").read_text()
    named = {match[0] for match in _NAME.finditer(page)}
    # RISKSTREAM_TOPICS, RISKSTREAM_KAFKA and RISKSTREAM_NOTIFY are nested settings as one JSON
    # object each; the page names their fields one by one.
    nested = {"RISKSTREAM_TOPICS", "RISKSTREAM_KAFKA", "RISKSTREAM_NOTIFY"}
    assert setting_names() - nested <= named


def test_the_readme_is_a_guide_that_links_every_page():
    readme = README.read_text()
    assert len(readme.splitlines()) <= 250
    linked = {Path(target.partition("#")[0]).name for target in _LINK.findall(readme)}
    assert {page.name for page in PAGES} <= linked
    two_commands = readme.split("## Two commands, on a fresh machine", 1)[1].split("\n## ")[0]
    block = _FENCE.search(two_commands)
    assert block is not None
    assert [line.split("#")[0].strip() for line in block[1].splitlines()] == [
        "make demo",
        "make test",
    ]


def test_every_benchmark_script_is_documented_and_every_one_named_exists():
    page = re.sub(r"\]\([^)]*\)", "]", (REPO / "docs" / "benchmarks.md").read_text())
    scripts = {path.stem for path in (REPO / "tests" / "bench").glob("bench_*.py")}
    named = set(re.findall(r"\b(bench_[a-z_]+)", page))
    assert scripts <= named, "document every benchmark in docs/benchmarks.md"
    assert named <= scripts, "docs/benchmarks.md names a benchmark that does not exist"
    headings = set(_HEADING.findall(page))
    assert {f"{script}.py" for script in scripts} <= headings


def test_the_checks_find_what_is_not_there():
    """The checks above can fail: each finds a made-up name."""
    known = setting_names()
    assert setting_problems("`RISKSTREAM_NO_SUCH_THING`", known) == [
        "no setting RISKSTREAM_NO_SUCH_THING"
    ]
    assert setting_problems("`RISKSTREAM_TOPIC_ORDERS` … `_CUSTOMERS`", known) != []
    assert setting_problems("`RISKSTREAM_NOPE_*`", known) == [
        "no setting starts with RISKSTREAM_NOPE_"
    ]
    assert setting_problems("`RISKSTREAM_TOPIC_*` and `RISKSTREAM_LATENESS`", known) == []
    tree = command_tree()
    assert command_problems("run `riskstream nope`", tree) != []
    assert command_problems("```sh\n.venv/bin/riskstream control nope\n```", tree) != []
    assert command_problems("`riskstream generate --no-such-option 3`", tree) != []
    assert command_problems("`riskstream control rollback rules --to default`", tree) == []
    assert command_problems("riskstream watches every order", tree) == []  # prose, not code
    assert make_problems("`make nope`", "demo:\n") == ["no make target 'nope'"]


def test_the_checks_see_the_commands_and_settings_the_docs_name():
    text = "\n".join(document.read_text() for document in DOCUMENTS)
    commands = {" ".join(filter(None, found)) for s in code(text) for found in _COMMAND.findall(s)}
    assert {"worker", "demo", "topics create", "control publish", "control rollback"} <= commands
    assert {"backtest", "generate"} <= {command.split()[0] for command in commands}
    assert len({match[0] for match in _NAME.finditer(text)}) >= 30
