"""/docs in Chromium: Swagger UI draws every operation with nothing from another host."""

from playwright.sync_api import expect

from tests.e2e.test_page import all_local


def test_the_api_documentation_renders_offline(page, server, requests_made):
    refused: list[str] = []  # what the CSP blocked, as the console reports it
    page.on("console", lambda m: refused.append(m.text) if "Content Security" in m.text else None)
    page.goto(server + "/docs")
    operations = page.locator(".opblock")
    expect(operations.first).to_be_visible()
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert "/api/networks/{id}/train" in [p.replace("\u200b", "") for p in paths]
    spec = page.request.get(server + "/openapi.json").json()
    assert operations.count() == sum(len(ops) for ops in spec["paths"].values())
    operations.filter(has_text="/api/networks/{id}/train").first.click()
    expect(page.locator(".responses-table").first).to_contain_text("413")
    assert requests_made and all_local(requests_made, server), requests_made
    assert not refused, refused
