"""Expensive documents are refused before anything runs, with QUERY_TOO_COMPLEX."""

from graphql import get_introspection_query


def _code(body: dict) -> str:
    return body["errors"][0]["extensions"]["code"]


async def _refused_before_running(api, database, query: str, **variables) -> dict:
    with database.capture_statements() as statements:
        body = await api.raw(query, **variables)
    assert body["data"] is None and _code(body) == "QUERY_TOO_COMPLEX", body
    # only the key lookup: no transaction was opened, nothing was read
    assert not any("contacts" in s or "BEGIN" in s for s in statements), statements
    return body


async def test_depth(api, database):
    deep = "{ accounts(first: 1) { nodes { " + "parent { " * 11 + "name" + " }" * 11 + " } } }"
    body = await _refused_before_running(api, database, deep)
    assert "levels deep" in body["errors"][0]["message"]
    fine = "{ accounts(first: 1) { nodes { " + "parent { " * 8 + "name" + " }" * 8 + " } } }"
    assert "errors" not in await api.raw(fine)


async def test_aliases(api, database):
    many = "{ " + " ".join(f"a{i}: pipelines {{ totalCount }}" for i in range(101)) + " }"
    body = await _refused_before_running(api, database, many)
    assert "aliases" in body["errors"][0]["message"]
    assert "errors" not in await api.raw(
        "{ " + " ".join(f"a{i}: pipelines {{ totalCount }}" for i in range(100)) + " }"
    )


async def test_cost_counts_page_sizes_including_variables(api, database):
    query = """query($n: Int) { contacts(first: $n) { nodes {
        deals(first: $n) { nodes { contacts(first: $n) { nodes { firstName } } } } } } }"""
    body = await _refused_before_running(api, database, query, n=100)
    assert "cost" in body["errors"][0]["message"]
    assert "errors" not in await api.raw(query, n=10)
    # lists that give no size count as a default page (20): 20 * 20 * 20 * 4 fields is fine
    assert "errors" not in await api.raw(
        "{ contacts { nodes { deals { nodes { contacts { nodes { firstName } } } } } } }"
    )
    # fragments count where they are spread
    spread = """query { contacts(first: 100) { nodes { ...C } } }
        fragment C on Contact { deals(first: 100) { nodes { contacts(first: 100) { nodes { id } } } } }"""
    await _refused_before_running(api, database, spread)


async def test_tokens(api, database):
    huge = "{ pipelines { " + " ".join(["totalCount"] * 6000) + " } }"
    body = await _refused_before_running(api, database, huge)
    assert "tokens" in body["errors"][0]["message"]


async def test_introspection_and_cyclic_fragments(api):
    introspection = await api.raw(get_introspection_query())
    assert "errors" not in introspection and introspection["data"]["__schema"]["types"]
    cyclic = """{ contacts { nodes { ...A } } }
        fragment A on Contact { account { contacts { nodes { ...B } } } }
        fragment B on Contact { account { contacts { nodes { ...A } } } }"""
    body = await api.raw(cyclic)
    assert _code(body) == "BAD_USER_INPUT"


async def test_page_size_cap(api):
    body = await api.raw("{ contacts(first: 101) { totalCount } }")
    assert _code(body) == "BAD_USER_INPUT" and "between 0 and 100" in body["errors"][0]["message"]
