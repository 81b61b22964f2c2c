async def test_smoke(client, alice):
    r = await client.post("/v1/contacts", json={"full_name": "Grace", "tags": ["a"]}, headers=alice)
    assert r.status_code == 201
    r = await client.get("/v1/contacts?tag=a&q=gra", headers=alice)
    assert r.status_code == 200 and len(r.json()["items"]) == 1
