"""The README's authentication tables say what the code does."""

from pathlib import Path
from uuid import uuid4

from relasi.auth.principal import Principal
from relasi.auth.scopes import ROLE_SCOPES, SCOPES, Role
from relasi.settings import Settings

README = (Path(__file__).parents[2] / "README.md").read_text()


def test_scope_table_lists_every_scope_with_the_roles_that_have_it():
    lines = README.splitlines()
    header = next(line for line in lines if line.startswith("| scope | allows |"))
    roles = [Role(cell.strip()) for cell in header.strip("|").split("|")[2:]]
    assert set(roles) == set(Role)
    for scope, allows in SCOPES.items():
        row = next(line for line in lines if line.startswith(f"| **`{scope}`** | "))
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        assert cells[1] == allows
        for role, cell in zip(roles, cells[2:], strict=True):
            granted = Principal(uuid4(), scopes=ROLE_SCOPES[role]).has(scope)
            assert cell == ("✓" if granted else ""), (scope, role)


def test_every_jwt_setting_is_documented():
    for name in Settings.model_fields:
        if name.startswith("jwt_"):
            assert f"| `RELASI_{name.upper()}` |" in README, name
