"""The README documents every setting and every error code."""

from pathlib import Path

from relasi.errors import ErrorCode
from relasi.settings import Settings

README = (Path(__file__).parents[2] / "README.md").read_text()


def test_every_setting_is_in_the_configuration_table():
    configuration = README.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    for name in Settings.model_fields:
        variable = "DATABASE_URL" if name == "database_url" else f"RELASI_{name.upper()}"
        assert f"`{variable}`" in configuration, variable


def test_every_error_code_is_in_the_errors_table():
    errors = README.split("### Errors", 1)[1].split("\n## ", 1)[0]
    for code in ErrorCode:
        assert f"`{code.value}`" in errors, code
