"""Every GraphQL example in the README is valid against the schema the server serves."""

import re
from pathlib import Path

import pytest
from graphql import parse, validate

from relasi.schema import schema

README = (Path(__file__).parents[1] / "README.md").read_text()
EXAMPLES = re.findall(r"```graphql\n(.*?)```", README, re.S)


def test_the_readme_has_examples():
    assert len(EXAMPLES) >= 10


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: " ".join(e.split())[:40])
def test_readme_example_is_valid(example):
    errors = validate(schema._schema, parse(example))
    assert errors == [], [str(e) for e in errors]
