"""constraints.txt pins every dependency, within what pyproject.toml allows."""

import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[2]


def pinned() -> dict[str, str]:
    lines = (REPO / "constraints.txt").read_text().splitlines()
    pairs = [line.split("==") for line in lines if line and not line.startswith("#")]
    return {canonicalize_name(name): version for name, version in pairs}


def test_every_dependency_is_pinned_to_a_version_pyproject_allows():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    wanted = [*project["dependencies"], *(
        dependency for extra in project["optional-dependencies"].values() for dependency in extra
    )]  # fmt: skip
    versions = pinned()
    for requirement in map(Requirement, wanted):
        version = versions.get(canonicalize_name(requirement.name))
        assert version is not None, f"{requirement.name} is not in constraints.txt: make lock"
        assert requirement.specifier.contains(version, prereleases=True), (requirement, version)


def test_the_makefile_installs_with_the_constraints():
    assert "--constraint constraints.txt" in (REPO / "Makefile").read_text()
