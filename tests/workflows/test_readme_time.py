"""The README's "Workflows on the clock" examples save as they are written."""

import re
from pathlib import Path

from tests.conftest import Api

README = (Path(__file__).parents[2] / "README.md").read_text()
SECTION = README[README.index("## Workflows on the clock") : README.index("## Segments")]
EXAMPLES = re.findall(r"```graphql\n(.*?)```", SECTION, re.S)


async def test_the_examples_save(fapi: Api):
    saved = [e for e in EXAMPLES if "createWorkflow" in e]
    assert len(saved) == 1
    for example in [e for e in EXAMPLES if "createWorkflow" not in e] + saved:
        (payload,) = (await fapi(example)).values()
        assert payload["userErrors"] == [], (example, payload["userErrors"])
