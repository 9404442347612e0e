"""The lock in requirements/ pins every dependency pyproject.toml names, within its range, so the
README's install commands give a new machine exactly what the suite passed with."""

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==([^\s;\\]+)", re.MULTILINE)


def pins(lock: str) -> dict[str, str]:
    text = (ROOT / "requirements" / lock).read_text()
    assert "--hash=sha256:" in text  # pip installs it in hash-checking mode
    return {canonicalize_name(name): version for name, version in PIN.findall(text)}


@pytest.mark.parametrize(
    "lock, wanted",
    [
        ("main.txt", PYPROJECT["dependencies"]),
        ("test.txt", PYPROJECT["dependencies"] + PYPROJECT["optional-dependencies"]["test"]),
    ],
)
def test_every_dependency_is_pinned_within_its_range(lock, wanted):
    pinned = pins(lock)
    for spec in map(Requirement, wanted):
        name = canonicalize_name(spec.name)
        assert name in pinned, (
            f"{spec.name} is not in requirements/{lock}: run requirements/lock.sh"
        )
        assert spec.specifier.contains(pinned[name], prereleases=True), (
            f"requirements/{lock} pins {name}=={pinned[name]}, outside {spec.specifier}"
        )


def test_server_and_tests_pin_the_same_versions():
    server, tests = pins("main.txt"), pins("test.txt")
    assert {name: tests.get(name) for name in server} == server
