async def test_smoke(api):
    data = await api.mutate(
        """mutation($input: CreateAccountInput!) { createAccount(input: $input) {
             account { id name domain } userErrors { field message code } } }""",
        input={"name": "Toko Maju", "domain": "https://www.TokoMaju.co.id/about"},
    )
    assert data["account"]["domain"] == "tokomaju.co.id"
    data = await api(
        "{ accounts(first: 5) { totalCount edges { cursor node { id name } } } pipelines { nodes { name stages { name status } } } }"
    )
    print(data)
