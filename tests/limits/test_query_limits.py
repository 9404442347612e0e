"""Expensive documents are refused before anything runs, with QUERY_TOO_COMPLEX."""

from graphql import get_introspection_query


def _code(body: dict) -> str:
    return body["errors"][0]["extensions"]["code"]


async def _refused_before_running(api, database, query: str, **variables) -> dict:
    with database.capture_statements() as statements:
        body = await api.raw(query, **variables)
    assert "data" not in body and _code(body) == "QUERY_TOO_COMPLEX", body
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


async def test_introspection_fields_count_like_any_other(api, database):
    typenames = "{ " + " ".join(f"t{i}: __typename" for i in range(101)) + " }"
    body = await _refused_before_running(api, database, typenames)
    assert "aliases" in body["errors"][0]["message"]
    schemas = "{ " + " ".join(f"s{i}: __schema {{ queryType {{ name }} }}" for i in range(101))
    body = await _refused_before_running(api, database, schemas + " }")
    assert "aliases" in body["errors"][0]["message"]
    deep = (
        '{ __type(name: "Contact") { fields { type { fields { type { fields { type { '
        "fields { type { fields { type { fields { name } } } } } } } } } } } } }"
    )
    body = await _refused_before_running(api, database, deep)
    assert "levels deep" in body["errors"][0]["message"]
    # the cost counts them too: 100 aliases x 250 __typename fields each is 25,100
    inner = " ".join(f"t{i}: __typename" for i in range(250))
    wide = "{ " + " ".join(f"p{i}: pipelines {{ {inner} }}" for i in range(100)) + " }"
    await _refused_before_running(api, database, wide)


async def test_introspection_answers_are_built_once_per_schema(api, monkeypatch):
    from graphql.type.introspection import introspection_types

    types_field = introspection_types["__Schema"].fields["types"]
    resolve = types_field.resolve
    calls = []

    def counting(*args, **kwargs):
        calls.append(1)
        return resolve(*args, **kwargs)

    monkeypatch.setattr(types_field, "resolve", counting)
    selection = "__schema { types { name kind fields { name } } }"
    query = "{ " + " ".join(f"s{i}: {selection}" for i in range(50)) + " }"
    first = await api(query)
    again = await api(query)
    assert len(first) == 50 and first == again
    assert all(answer == first["s0"] for answer in first.values())
    assert first["s0"]["types"] and len(calls) <= 1  # 0 when an earlier test built it
    # a different selection is its own answer
    other = await api("{ __schema { types { name } } }")
    assert [t["name"] for t in other["__schema"]["types"]] == [
        t["name"] for t in first["s0"]["types"]
    ]
    # answers that read variables are kept per value
    typed = "query($n: String!) { __type(name: $n) { name } }"
    assert (await api(typed, n="Contact"))["__type"] == {"name": "Contact"}
    assert (await api(typed, n="Deal"))["__type"] == {"name": "Deal"}


async def test_page_sizes_out_of_range_are_bad_input_not_too_complex(api):
    for first in ("2147483648", "-1", "99999999999999999999", "1000000"):
        body = await api.raw(f"{{ contacts(first: {first}) {{ totalCount }} }}")
        assert _code(body) == "BAD_USER_INPUT", (first, body)
    for n in (2**31, -5, 10**6):
        body = await api.raw("query($n: Int) { contacts(first: $n) { totalCount } }", n=n)
        assert _code(body) == "BAD_USER_INPUT", (n, body)
    nested = "{ contacts(first: 100000) { nodes { deals(first: 100000) { totalCount } } } }"
    assert _code(await api.raw(nested)) == "BAD_USER_INPUT"
