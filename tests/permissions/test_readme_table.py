"""The README's authorization tables say what the code enforces."""

from pathlib import Path

from relasi.auth.permissions import ROOT_RULES, TYPE_SCOPES

README = (Path(__file__).parents[2] / "README.md").read_text()


def _row(scope: str) -> str:
    return next(line for line in README.splitlines() if line.startswith(f"| `{scope}` | "))


def test_every_rule_is_in_the_readme_under_its_scope():
    for field, scope in ROOT_RULES.items():
        assert f"`{field}`" in _row(scope), (field, scope)
    for type_name, scope in TYPE_SCOPES.items():
        rows = [line for line in README.splitlines() if f"`{type_name}`" in line]
        assert any(row.startswith(f"| `{scope}` | ") for row in rows), (type_name, scope)
