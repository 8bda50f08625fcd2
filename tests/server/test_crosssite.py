"""Cross-site protection over the real app in-process: a web page of another site can neither
write (a "simple" text/plain or form POST, a foreign or opaque Origin, Sec-Fetch-Site) nor,
through DNS rebinding, read or delete (the Host check); origins listed in
GRAPHREADY_CORS_ORIGINS get working CORS; every response that serves the app carries the
security headers, and API responses a restrictive policy."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest

from graphready.config import Settings, load_settings
from graphready.errors import ConfigError
from graphready.server.crosssite import HostPolicy, same_origin, split_host
from support.api import app_client, assert_error

pytestmark = pytest.mark.anyio
EVIL = "https://evil.example"
APP = "https://app.example.com"
DOC = {"documents": [{"id": "crosssite-doc", "title": "Cross", "text": "Cross-site text."}]}


@asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async for client in app_client(settings):
        yield client


async def stored(client: httpx.AsyncClient, ident: str) -> bool:
    listing = (await client.get("/documents", params={"limit": 200})).json()
    return ident in {d["id"] for d in listing["documents"]}


@pytest.mark.parametrize(("path", "content_type"), [
    ("/chat", "text/plain"), ("/chat", "text/plain;charset=UTF-8"),
    ("/chat", "application/x-www-form-urlencoded"), ("/chat", "multipart/form-data; boundary=x"),
    ("/v1/chat/completions", "text/plain"), ("/documents", "text/plain"),
    ("/build", "application/x-www-form-urlencoded"),
])
async def test_a_body_a_page_could_send_without_preflight_is_415(
        client: httpx.AsyncClient, path: str, content_type: str) -> None:
    body = {"message": "Who designed the Zephyr Lighthouse?", **DOC,
            "messages": [{"role": "user", "content": "hi"}]}
    response = await client.post(path, content=json.dumps(body),
                                 headers={"Content-Type": content_type})
    sent = content_type.partition(";")[0]
    assert_error(response, 415, "unsupported_media_type", repr(sent), "application/json")
    assert not await stored(client, "crosssite-doc")


async def test_writes_from_another_origin_are_403_and_change_nothing(
        client: httpx.AsyncClient) -> None:
    for origin in (EVIL, "null", "http://localhost:9999", "http://127.0.0.1"):
        refused = await client.post("/documents", json=DOC, headers={"Origin": origin})
        assert_error(refused, 403, "cross_origin", "GRAPHREADY_CORS_ORIGINS")
        assert "access-control-allow-origin" not in refused.headers
    files = {"files": ("page.txt", b"Planted by a page.", "text/plain")}
    assert_error(await client.post("/documents", files=files, headers={"Origin": EVIL}), 403,
                 "cross_origin")
    assert_error(await client.post("/chat", json={"message": "hi"}, headers={"Origin": EVIL}),
                 403, "cross_origin", EVIL)
    assert_error(await client.post("/documents", json=DOC,
                                   headers={"Sec-Fetch-Site": "cross-site"}), 403,
                 "cross_origin", "Sec-Fetch-Site")
    assert not await stored(client, "crosssite-doc")
    # The same document from this server's own page (its origin) or a client with no Origin.
    own = await client.post("/documents", json=DOC, headers={"Origin": "http://localhost"})
    assert own.status_code == 202, own.text
    assert await stored(client, "crosssite-doc")
    assert_error(await client.delete("/documents/crosssite-doc", headers={"Origin": EVIL}),
                 403, "cross_origin")
    assert await stored(client, "crosssite-doc")
    deleted = await client.delete("/documents/crosssite-doc",
                                  headers={"Origin": "https://localhost:443",
                                           "Sec-Fetch-Site": "same-origin"})
    assert deleted.status_code == 200, deleted.text


async def test_a_bodyless_build_from_another_origin_starts_nothing(
        client: httpx.AsyncClient) -> None:
    assert_error(await client.post("/build", headers={"Origin": EVIL}), 403, "cross_origin")
    # Had the refused request started a build, this one would be queued behind it.
    started = await client.post("/build", headers={"Origin": "http://localhost"})
    assert started.status_code == 200 and started.json()["started"] is True, started.text


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/documents"), ("GET", "/status"), ("GET", "/graph/entities"),
    ("DELETE", "/documents/crosssite-doc"), ("POST", "/chat"), ("GET", "/"),
])
async def test_a_rebound_host_name_is_refused(client: httpx.AsyncClient, method: str,
                                              path: str) -> None:
    response = await client.request(method, path, headers={"Host": "evil.example:8000"},
                                    json={"message": "hi"} if method == "POST" else None)
    assert_error(response, 400, "host_not_allowed", "'evil.example'",
                 "GRAPHREADY_ALLOWED_HOSTS")


async def test_a_rebound_delete_leaves_the_document(client: httpx.AsyncClient) -> None:
    assert (await client.post("/documents", json=DOC)).status_code == 202
    assert_error(await client.delete("/documents/crosssite-doc",
                                     headers={"Host": "attacker.test"}), 400, "host_not_allowed")
    assert await stored(client, "crosssite-doc")
    assert (await client.delete("/documents/crosssite-doc")).status_code == 200


async def test_loopback_and_ip_hosts_pass_and_health_answers_any(
        client: httpx.AsyncClient) -> None:
    for host in ("localhost", "LOCALHOST:8000", "127.0.0.1:8000", "[::1]:8000", "127.0.0.2",
                 "10.1.2.3:8000", "[2001:db8::1]", "app.localhost:8000"):
        assert (await client.get("/status", headers={"Host": host})).status_code == 200, host
    assert (await client.get("/health", headers={"Host": "evil.example"})).status_code == 200


async def test_allowed_hosts_add_names_and_patterns(built: Settings) -> None:
    settings = dataclasses.replace(built, allowed_hosts="wiki.example.org, *.corp.example")
    async with serving(settings) as client:
        for host in ("wiki.example.org", "Wiki.Example.Org.:443", "a.b.corp.example:8000"):
            assert (await client.get("/status", headers={"Host": host})).status_code == 200
        for host in ("example.org", "corp.example.evil", "evil.example"):
            assert_error(await client.get("/status", headers={"Host": host}), 400,
                         "host_not_allowed")


async def test_a_listed_origin_gets_cors_and_a_working_preflight(built: Settings) -> None:
    key = "full-key-0123456789abcdef"
    settings = dataclasses.replace(built, cors_origins=f"{APP}, http://localhost:5173",
                                   api_key=key)
    async with serving(settings) as client:
        preflight = await client.options("/chat", headers={
            "Origin": APP, "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type"})
        assert preflight.status_code == 204, preflight.text  # no key needed
        assert preflight.headers["access-control-allow-origin"] == APP
        assert "POST" in preflight.headers["access-control-allow-methods"]
        assert "DELETE" in preflight.headers["access-control-allow-methods"]
        allowed = preflight.headers["access-control-allow-headers"].lower()
        assert "authorization" in allowed and "content-type" in allowed
        assert int(preflight.headers["access-control-max-age"]) > 0
        assert "Origin" in preflight.headers["vary"]
        chat = await client.post("/chat", json={"message": "Who designed the Zephyr Lighthouse?"},
                                 headers={"Origin": APP, "Authorization": f"Bearer {key}"})
        assert chat.status_code == 200, chat.text
        assert chat.headers["access-control-allow-origin"] == APP
        assert "Origin" in chat.headers["vary"]
        assert "retry-after" in chat.headers["access-control-expose-headers"].lower()
        # The app can read a 401 (to ask for a key) and write with a key.
        unauthorized = await client.get("/status", headers={"Origin": APP})
        assert unauthorized.status_code == 401
        assert unauthorized.headers["access-control-allow-origin"] == APP
        added = await client.post("/documents", json=DOC, headers={
            "Origin": "http://localhost:5173", "Authorization": f"Bearer {key}"})
        assert added.status_code == 202, added.text
        # Another origin: a clear refusal and no CORS headers.
        refused = await client.options("/chat", headers={
            "Origin": EVIL, "Access-Control-Request-Method": "POST"})
        assert_error(refused, 403, "cross_origin", EVIL, "GRAPHREADY_CORS_ORIGINS")
        assert "access-control-allow-origin" not in refused.headers
        read = await client.get("/status", headers={"Origin": EVIL,
                                                    "Authorization": f"Bearer {key}"})
        assert read.status_code == 200 and "access-control-allow-origin" not in read.headers


@pytest.mark.parametrize("path", ["/", "/static/index.html", "/static/js/app.js",
                                  "/static/app.css"])
async def test_every_response_serving_the_app_has_the_security_headers(
        client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 200
    policy = response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy and "script-src 'self'" in policy
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"


@pytest.mark.parametrize(("method", "path"), [("GET", "/status"), ("GET", "/nowhere"),
                                              ("POST", "/chat"), ("GET", "/openapi.json")])
async def test_api_responses_have_a_restrictive_policy(client: httpx.AsyncClient, method: str,
                                                       path: str) -> None:
    response = await client.request(method, path, content=b"x",
                                     headers={"Content-Type": "text/plain"})
    assert response.headers["content-security-policy"] == \
        "default-src 'none'; frame-ancestors 'none'"
    assert response.headers["x-content-type-options"] == "nosniff"


def test_host_parsing_and_same_origin() -> None:
    assert split_host("[::1]:8000") == ("::1", 8000)
    assert split_host("Example.COM.") == ("example.com", None)
    assert split_host("::1") == ("::1", None)
    assert split_host("a:b") == ("a", -1)
    assert same_origin("http://localhost:8000", "localhost:8000")
    assert same_origin("https://wiki.example.org", "wiki.example.org:443")
    assert not same_origin("http://localhost:8001", "localhost:8000")
    assert not same_origin("null", "localhost") and not same_origin("file://", "localhost")
    bound = HostPolicy("192.168.1.5", (), machine="build-box.lan")
    assert bound.allows("192.168.1.5") and bound.allows("build-box") and bound.allows("::1")
    assert not bound.allows("evil.example") and not bound.allows("localhost.evil.example")
    named = HostPolicy("graph.internal", ("*",), machine="")
    assert named.allows("graph.internal") and named.allows("anything.example")


@pytest.mark.parametrize(("name", "value"), [
    ("allowed_hosts", "https://wiki.example.org"), ("allowed_hosts", "wiki.example.org:80"),
    ("allowed_hosts", "*.*"), ("cors_origins", "*"), ("cors_origins", "app.example.com"),
    ("cors_origins", "https://app.example.com/path"), ("cors_origins", "null"),
])
def test_bad_origin_settings_are_named(tmp_path: object, name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=f"GRAPHREADY_{name.upper()}"):
        load_settings({f"GRAPHREADY_{name.upper()}": value}, data_dir=tmp_path)
