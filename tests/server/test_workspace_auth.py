"""Keys that belong to workspaces, over HTTP with the real app (in-process, lifespan run): a key
used on a workspace it is not a member of gets exactly the 404 of a workspace that does not
exist, on every route of the app (as its OpenAPI document lists them, so new routes are
covered); roles; ``*`` keys; today's key settings. (The keys file itself:
``test_keys_file.py``; reloading in a real server: ``tests/e2e/test_keys_reload.py``.)"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from graphready.config import Settings, load_settings
from graphready.errors import ConfigError
from graphready.server.app import create_app
from graphready.server.auth import check_exposure, is_open, key_ring
from support.api import assert_error

ADMIN, ALPHA_READ = "admin-key-0000000000", "alpha-read-111111111"
ALPHA_WRITE = "alpha-write-22222222"
ALPHA_ADMIN, STAR_READ, DEFAULT_READ = ("alpha-admin-3333333333", "star-read-44444444444",
                                        "default-read-5555555555")
FULL, READ_ONLY = "f" * 20, "r" * 20
FIRST = f"admin {ADMIN} admin *\n"
KEYS = FIRST + f"""# alpha's keys
alpha-read   {ALPHA_READ}   read  alpha
alpha-write  {ALPHA_WRITE}  write alpha
alpha-admin  {ALPHA_ADMIN}  admin alpha
star-read    {STAR_READ}    read  *
default-read {DEFAULT_READ} read  default
"""
PARAM = re.compile(r"\{[a-z_]+(?::path)?\}")
PREFIX = "/workspaces/{workspace}"


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def _app(settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    app = create_app(settings, build=False)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
            yield app, client


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def keys_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("workspace-auth")
    path = root / "keys"
    path.write_text(FIRST, "utf-8")
    return path


@pytest.fixture
async def served(keys_path: Path) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """The app with workspaces alpha and beta (created by the admin key), then the whole keys
    file read (it names alpha, so it could not be read before alpha existed)."""
    keys_path.write_text(FIRST, "utf-8")
    settings = load_settings({"GRAPHREADY_KEYS_FILE": str(keys_path)},
                             data_dir=keys_path.parent / "data", embedder="hashing")
    async for app, client in _app(settings):
        for name in ("alpha", "beta"):
            made = await client.post("/workspaces", json={"name": name}, headers=bearer(ADMIN))
            assert made.status_code in (201, 409), made.text
        keys_path.write_text(KEYS, "utf-8")
        ring = key_ring(app)
        assert ring is not None and ring.reload()
        yield app, client


def _filled(path: str) -> str:
    return PARAM.sub("x", path)


def _workspace_requests(app: FastAPI) -> list[tuple[str, str]]:
    """(method, path within a workspace) of every route the app declares per workspace, as
    its OpenAPI document lists them (made from the routes, so a new route is listed)."""
    found = []
    for path, operations in app.openapi()["paths"].items():
        if path.startswith(PREFIX + "/"):
            found += [(method.upper(), _filled(path[len(PREFIX):])) for method in operations
                      if method != "parameters"]
    return sorted(found)


async def _send(client: httpx.AsyncClient, method: str, path: str,
                key: str | None) -> httpx.Response:
    body: dict[str, Any] = {"json": {}} if method in ("POST", "PUT", "PATCH") else {}
    return await client.request(method, path, headers=bearer(key) if key else {}, **body)


@pytest.mark.anyio
async def test_a_key_gets_on_every_route_of_another_workspace_the_404_of_no_workspace(
        served: tuple[FastAPI, httpx.AsyncClient]) -> None:
    app, client = served
    requests = _workspace_requests(app)
    assert ("POST", "/chat") in requests and ("GET", "/status") in requests
    assert ("DELETE", "/documents/x") in requests and ("POST", "/build") in requests
    assert any(path.startswith("/graph/") for _, path in requests)
    for key in (ALPHA_READ, ALPHA_WRITE, ALPHA_ADMIN, DEFAULT_READ):
        for method, path in requests:
            theirs = await _send(client, method, f"/workspaces/beta{path}", key)
            nowhere = await _send(client, method, f"/workspaces/nowhere{path}", ADMIN)
            assert_error(theirs, 404, "unknown_workspace", "no workspace 'beta'")
            assert_error(nowhere, 404, "unknown_workspace", "no workspace 'nowhere'")
            assert theirs.text.replace("beta", "nowhere") == nowhere.text, (method, path)
            assert theirs.headers.get("content-type") == nowhere.headers.get("content-type")
    for method in ("GET", "DELETE"):
        theirs = await _send(client, method, "/workspaces/beta", ALPHA_ADMIN)
        nowhere = await _send(client, method, "/workspaces/nowhere", ADMIN)
        assert (theirs.status_code, theirs.text.replace("beta", "nowhere")) \
            == (nowhere.status_code, nowhere.text) == (404, nowhere.text), method


@pytest.mark.anyio
async def test_today_s_urls_are_the_default_workspace_s(
        served: tuple[FastAPI, httpx.AsyncClient]) -> None:
    app, client = served
    today = [(m, p) for m, p in _workspace_requests(app) if not is_open(m, p)]
    for method, path in today:
        refused = await _send(client, method, path, ALPHA_ADMIN)
        assert_error(refused, 404, "unknown_workspace", "no workspace 'default'")
    assert (await client.get("/status", headers=bearer(DEFAULT_READ))).status_code == 200
    assert (await client.get("/workspaces/default/status",
                             headers=bearer(DEFAULT_READ))).status_code == 200


@pytest.mark.anyio
async def test_roles_within_a_workspace(served: tuple[FastAPI, httpx.AsyncClient]) -> None:
    _, client = served
    doc = {"documents": [{"text": "Alpha holds the word quokka.", "title": "a"}]}
    assert (await client.get("/workspaces/alpha/status",
                             headers=bearer(ALPHA_READ))).status_code == 200
    chat = await client.post("/workspaces/alpha/chat", json={"message": "quokka?"},
                             headers=bearer(ALPHA_READ))
    assert chat.status_code in (200, 503), chat.text  # a read: never 403/404
    for path, body in (("/workspaces/alpha/documents", doc), ("/workspaces/alpha/build", {})):
        assert_error(await client.post(path, json=body, headers=bearer(ALPHA_READ)),
                     403, "forbidden", "read-only key")
        assert_error(await client.post(path, json=body, headers=bearer(STAR_READ)),
                     403, "forbidden")
    added = await client.post("/workspaces/alpha/documents", json=doc,
                              headers=bearer(ALPHA_WRITE))
    assert added.status_code == 202, added.text
    assert_error(await client.delete("/workspaces/alpha", headers=bearer(ALPHA_WRITE)),
                 403, "forbidden", "admin")
    for key in (ALPHA_ADMIN, ALPHA_WRITE, STAR_READ):
        assert_error(await client.post("/workspaces", json={"name": "gamma"},
                                       headers=bearer(key)), 403, "forbidden", "every workspace")
    assert_error(await client.get("/workspaces/alpha/status", headers=bearer("x" * 20)),
                 401, "unauthorized")
    assert_error(await client.get("/workspaces/alpha/status"), 401, "unauthorized")


@pytest.mark.anyio
async def test_the_list_shows_the_workspaces_a_key_sees(
        served: tuple[FastAPI, httpx.AsyncClient]) -> None:
    _, client = served

    async def names(key: str) -> list[str]:
        listed = await client.get("/workspaces", headers=bearer(key))
        assert listed.status_code == 200, listed.text
        return [w["name"] for w in listed.json()["workspaces"]]

    assert await names(ALPHA_READ) == ["alpha"]
    assert await names(DEFAULT_READ) == ["default"]
    assert await names(STAR_READ) == ["default", "alpha", "beta"]
    models = await client.get("/v1/models", headers=bearer(ALPHA_READ))
    assert models.status_code == 200 and "beta" not in models.text
    completion = {"model": "beta", "messages": [{"role": "user", "content": "hi"}]}
    theirs = await client.post("/v1/chat/completions", json=completion,
                               headers=bearer(ALPHA_READ))
    nowhere = await client.post("/v1/chat/completions", json={**completion, "model": "nowhere"},
                                headers=bearer(ADMIN))
    assert_error(theirs, 404, "unknown_workspace", "no workspace 'beta'")
    assert theirs.text.replace("beta", "nowhere") == nowhere.text


@pytest.mark.anyio
async def test_the_page_shell_tells_nothing_of_which_workspaces_exist(
        served: tuple[FastAPI, httpx.AsyncClient]) -> None:
    _, client = served
    beta, nowhere = (await client.get("/workspaces/beta/"), await client.get("/workspaces/x/"))
    assert beta.status_code == nowhere.status_code
    assert beta.status_code != 404 or beta.text.replace("beta", "x") == nowhere.text


@pytest.mark.anyio
async def test_the_key_settings_mean_every_workspace(tmp_path: Path) -> None:
    settings = load_settings({"GRAPHREADY_API_KEY": FULL, "GRAPHREADY_READ_ONLY_API_KEY":
                              READ_ONLY}, data_dir=tmp_path / "data", embedder="hashing")
    async for _, client in _app(settings):
        made = await client.post("/workspaces", json={"name": "alpha"}, headers=bearer(FULL))
        assert made.status_code == 201, made.text
        assert_error(await client.post("/workspaces", json={"name": "beta"},
                                       headers=bearer(READ_ONLY)), 403, "forbidden")
        for path in ("/workspaces/alpha/status", "/status", "/workspaces/alpha"):
            assert (await client.get(path, headers=bearer(READ_ONLY))).status_code == 200
        assert_error(await client.post("/workspaces/alpha/build", json={},
                                       headers=bearer(READ_ONLY)), 403, "forbidden")
        listed = await client.get("/workspaces", headers=bearer(READ_ONLY))
        assert [w["name"] for w in listed.json()["workspaces"]] == ["default", "alpha"]
        gone = await client.delete("/workspaces/alpha", headers=bearer(FULL))
        assert gone.status_code == 200 and gone.json() == {"deleted": "alpha"}


@pytest.mark.anyio
async def test_a_keys_file_and_the_key_settings_combine(tmp_path: Path) -> None:
    path = tmp_path / "keys"
    path.write_text(f"reader {DEFAULT_READ} read default\n", "utf-8")
    settings = load_settings({"GRAPHREADY_API_KEY": FULL, "GRAPHREADY_KEYS_FILE": str(path)},
                             data_dir=tmp_path / "data", embedder="hashing")
    async for _, client in _app(settings):
        status = await client.get("/status", headers=bearer(DEFAULT_READ))
        assert status.status_code == 200 and status.json()["auth"] == {"required": True}
        assert_error(await client.post("/build", json={}, headers=bearer(DEFAULT_READ)),
                     403, "forbidden")
        assert (await client.post("/build", json={}, headers=bearer(FULL))).status_code != 403


def test_a_keys_file_counts_as_keys_beyond_loopback_and_is_checked_before_serving(
        tmp_path: Path) -> None:
    path = tmp_path / "keys"
    path.write_text(f"admin {ADMIN} admin *\n", "utf-8")
    env = {"GRAPHREADY_HOST": "0.0.0.0", "GRAPHREADY_KEYS_FILE": str(path)}
    check_exposure(load_settings(env, data_dir=tmp_path))
    path.write_text(f"admin {ADMIN} admin *\nreader {STAR_READ} read alpha\n", "utf-8")
    with pytest.raises(ConfigError, match=f"{path} line 2: no workspace 'alpha'"):
        check_exposure(load_settings(env, data_dir=tmp_path))
