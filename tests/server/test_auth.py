"""API keys: which requests need which key, the key settings, and the refusal to serve beyond
loopback without a key. (Over a real socket: ``tests/e2e/test_documents_api.py``.)"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from graphready.config import Settings, load_settings
from graphready.errors import ConfigError, Forbidden, Unauthorized
from graphready.server.app import create_app
from graphready.server.auth import ApiKeys, bearer, check_exposure, is_loopback, is_write
from graphready.server.keys import KeyRing
from support.api import assert_error

FULL, READ = "f" * 20, "r" * 20


async def _app(scope: object, receive: object, send: object) -> None:
    raise AssertionError("not reached")


def _keys(full: list[str], read: list[str]) -> ApiKeys:
    settings = load_settings({"GRAPHREADY_API_KEY": ",".join(full),
                              "GRAPHREADY_READ_ONLY_API_KEY": ",".join(read)},
                             data_dir=Path("unused"))
    return ApiKeys(_app, KeyRing.from_settings(settings))


def test_roles_and_rules() -> None:
    keys = _keys([FULL, "g" * 20], [READ])
    assert keys.required and not _keys([], []).required
    role = {t: (a.role if (a := keys.keys.find(t)) else None)
            for t in (FULL, "g" * 20, READ, "x" * 20, None, FULL[:-1], FULL + "f")}
    assert role[FULL] == "admin" and role["g" * 20] == "admin" and role[READ] == "read"
    assert role["x" * 20] is None and role[None] is None
    assert role[FULL[:-1]] is None and role[FULL + "f"] is None
    assert keys.check("GET", "/health", None) == (None, None)
    assert keys.check("GET", "/", None) == (None, None)
    assert keys.check("GET", "/static/app.js", None) == (None, None)
    assert isinstance(keys.check("POST", "/", None)[1], Unauthorized)
    assert isinstance(keys.check("GET", "/status", None)[1], Unauthorized)
    assert isinstance(keys.check("GET", "/graph/entities", "nope")[1], Unauthorized)
    assert keys.check("POST", "/chat", READ)[1] is None
    assert keys.check("GET", "/documents/a/b", READ)[1] is None
    assert isinstance(keys.check("DELETE", "/documents/a/b", READ)[1], Forbidden)
    assert isinstance(keys.check("POST", "/build", READ)[1], Forbidden)
    assert keys.check("DELETE", "/documents/a", FULL)[1] is None
    assert is_write("POST", "/documents") and not is_write("POST", "/documentsx")
    assert bearer({"headers": [(b"authorization", b"Bearer  abc ")]}) == "abc"
    assert bearer({"headers": [(b"authorization", b"Basic abc")]}) is None
    assert bearer({"headers": []}) is None


@pytest.mark.parametrize(("env", "named"), [
    ({"GRAPHREADY_API_KEY": "short"}, "GRAPHREADY_API_KEY"),
    ({"GRAPHREADY_API_KEY": f"{FULL},with space in it"}, "GRAPHREADY_API_KEY"),
    ({"GRAPHREADY_READ_ONLY_API_KEY": READ}, "GRAPHREADY_API_KEY"),
    ({"GRAPHREADY_API_KEY": FULL, "GRAPHREADY_READ_ONLY_API_KEY": FULL},
     "GRAPHREADY_READ_ONLY_API_KEY"),
    ({"GRAPHREADY_ALLOW_NO_API_KEY": "yes"}, "GRAPHREADY_ALLOW_NO_API_KEY"),
    ({"GRAPHREADY_MAX_UPLOAD_FILES": "0"}, "GRAPHREADY_MAX_UPLOAD_FILES"),
    ({"GRAPHREADY_WATCH": "yes"}, "GRAPHREADY_WATCH"),
])
def test_bad_key_settings_name_the_setting(tmp_path: Path, env: dict[str, str],
                                           named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        load_settings(env, data_dir=tmp_path)


def test_keys_are_not_in_the_settings_repr(tmp_path: Path) -> None:
    settings = load_settings({"GRAPHREADY_API_KEY": FULL,
                              "GRAPHREADY_READ_ONLY_API_KEY": READ}, data_dir=tmp_path)
    assert FULL not in repr(settings) and READ not in repr(settings)


def _settings(tmp_path: Path, **values: str) -> Settings:
    return load_settings(values, data_dir=tmp_path)


def test_serving_beyond_loopback_needs_a_key_or_an_explicit_opt_out(tmp_path: Path) -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("10.1.2.3")
    check_exposure(_settings(tmp_path))
    with pytest.raises(ConfigError, match="GRAPHREADY_API_KEY"):
        check_exposure(_settings(tmp_path, GRAPHREADY_HOST="0.0.0.0"))
    check_exposure(_settings(tmp_path, GRAPHREADY_HOST="0.0.0.0", GRAPHREADY_API_KEY=FULL))
    check_exposure(_settings(tmp_path, GRAPHREADY_HOST="::", GRAPHREADY_ALLOW_NO_API_KEY="on"))


@pytest.mark.anyio
async def test_in_process_app_answers_401_403_and_status_says_a_key_is_needed(
        tmp_path: Path) -> None:
    settings = load_settings({"GRAPHREADY_API_KEY": FULL, "GRAPHREADY_READ_ONLY_API_KEY": READ},
                             data_dir=tmp_path, embedder="hashing")
    app = create_app(settings, build=False)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
            assert (await client.get("/health")).status_code == 200
            assert_error(await client.get("/status"), 401, "unauthorized", "Bearer")
            read = {"Authorization": f"Bearer {READ}"}
            status = await client.get("/status", headers=read)
            assert status.json()["auth"] == {"required": True}
            assert FULL not in status.text and READ not in status.text
            assert_error(await client.post("/documents", headers=read,
                                           json={"documents": [{"text": "x"}]}),
                         403, "forbidden", "GRAPHREADY_API_KEY")
            added = await client.post("/documents", json={"documents": [{"text": "Hello."}]},
                                      headers={"Authorization": f"Bearer {FULL}"})
            assert added.status_code == 202 and added.json()["documents"][0]["state"] == "pending"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def test_only_changes_the_loaders_read_start_a_build(tmp_path: Path) -> None:
    from graphready.server.watch import relevant

    assert relevant(tmp_path, [str(tmp_path / "a.md")])
    assert relevant(tmp_path, [str(tmp_path / "sub")])  # a folder, removed with its files
    assert not relevant(tmp_path, [str(tmp_path / ".git" / "index"), str(tmp_path / "x.pyc"),
                                   str(tmp_path / ".draft.md"), "/elsewhere/a.md"])
