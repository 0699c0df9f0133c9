def test_home_page_links_to_both_halves(client):
    response = client.get("/")
    assert response.status_code == 200
    assert b'href="/board/"' in response.content
    assert b'href="/investments/"' in response.content
