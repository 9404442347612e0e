"""The filter tests read the segment tests' small CRM graph."""

from tests.segments.conftest import graph  # noqa: F401 (the fixture)
