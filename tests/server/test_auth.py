"""Auth: every route needs the right scope (no route forgotten), the error format, keys taking
effect and being revoked at once, the dashboard login with its signed session cookie, and the
real SDK ingesting with a key through a real server."""

from __future__ import annotations

import json
import re
import stat
import time
from collections.abc import Iterator
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

import pytest
from starlette.routing import Mount

from sightline.config import Settings
from sightline.sdk import Client
from sightline.server import create_app
from sightline.server.auth import Auth, required_scope
from sightline.store.keys import KeyStore
from tests.server.conftest import DAY0, TestClient, traffic

PUBLIC = {"/healthz", "/login", "/logout"}


class Keys:
    """One key per scope, and one with read and ingest but not admin."""

    def __init__(self, path: Path):
        self.store = KeyStore(path)
        self.secret: dict[str, str] = {}
        for name, scopes in (
            ("svc", ["ingest"]),
            ("viewer", ["read"]),
            ("root", ["admin"]),
            ("both", ["ingest", "read"]),
        ):
            _, self.secret[name] = self.store.create(name, scopes)

    def header(self, name: str) -> dict[str, str]:
        return {"authorization": f"Bearer {self.secret[name]}"}


@pytest.fixture
def auth_settings(settings: Settings) -> Settings:
    return Settings.load(
        data_dir=settings.data_dir, schedule_interval=0.0, auth=True, port=settings.port
    )


@pytest.fixture
def keys(auth_settings: Settings) -> Keys:
    return Keys(auth_settings.keys_path)


@pytest.fixture
def secured(auth_settings: Settings, keys: Keys) -> Iterator[TestClient]:
    app = create_app(auth_settings, start_scheduler=False)
    # https: the session cookie is Secure, so a client only sends it back over https.
    with TestClient(app, base_url="https://testserver", raise_server_exceptions=False) as client:
        yield client


# -- every route ------------------------------------------------------------------------------


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x", path)


def flat(routes: list[Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Routes with their full path. FastAPI (0.16x) keeps included routers as lazy entries of
    the route table; they are expanded here, with their prefix."""
    for route in routes:
        original = getattr(route, "original_router", None)
        if original is not None:
            context = getattr(route, "include_context", None)
            yield from flat(original.routes, prefix + getattr(context, "prefix", ""))
        else:
            yield prefix + getattr(route, "path", ""), route


def endpoints(client: TestClient) -> list[tuple[str, str]]:
    """Every (method, path) the app serves, from its route table."""
    found = []
    for path, route in flat(client.app.routes):  # type: ignore[attr-defined]
        if isinstance(route, Mount):
            found.append(("GET", path + "/x"))
            continue
        for method in sorted(getattr(route, "methods", None) or {"GET"}):
            found.append((method, concrete(path)))
    return found


def refused_by_auth(response: Any) -> bool:
    """A 401/403 from the key check (not, say, the login form refusing a wrong key)."""
    if response.status_code not in (401, 403):
        return False
    kind = response.headers.get("content-type", "")
    return kind.startswith("application/json") and response.json().get("error") in (
        "Unauthorized",
        "Forbidden",
    )


WRONG = {"read": "svc", "ingest": "viewer", "admin": "both"}
RIGHT = {"read": "viewer", "ingest": "svc", "admin": "root"}


def test_every_route_needs_its_scope(secured: TestClient, keys: Keys):
    routes = endpoints(secured)
    assert ("POST", "/v1/ingest") in routes
    assert ("GET", "/v1/models/x/report") in routes  # the table is the app's own
    seen: dict[str, set[tuple[str, str]]] = {}
    for method, path in routes:
        needed = required_scope(method, path)
        seen.setdefault(str(needed), set()).add((method, path))
        if needed is None:
            response = secured.request(method, path, follow_redirects=False)
            assert not refused_by_auth(response), (method, path)
            continue
        anonymous = secured.request(method, path, headers={"accept": "application/json"})
        assert anonymous.status_code == 401, (method, path, anonymous.text)
        if method != "HEAD":  # HEAD answers carry no body
            assert anonymous.json()["error"] == "Unauthorized"
        wrong = secured.request(method, path, headers=keys.header(WRONG[needed]))
        assert wrong.status_code == 403, (method, path, wrong.text)
        right = secured.request(method, path, headers=keys.header(RIGHT[needed]))
        assert right.status_code not in (401, 403), (method, path, right.text)
        admin = secured.request(method, path, headers=keys.header("root"))
        assert admin.status_code not in (401, 403), (method, path)

    public = {path for _, path in seen["None"]}
    assert public - PUBLIC <= {p for p in public if p.startswith("/static/")}
    assert seen["ingest"] == {("POST", "/v1/ingest")}
    assert {m for m, _ in seen["read"]} <= {"GET", "HEAD"}
    assert {m for m, _ in seen["admin"]} <= {"POST", "PUT", "DELETE", "PATCH"}
    assert ("GET", "/metrics") in seen["read"]
    assert ("GET", "/openapi.json") in seen["read"]
    assert ("PUT", "/v1/models/x/references/x") in seen["admin"]
    assert ("POST", "/v1/models/x/runs") in seen["admin"]


def test_the_scope_rule_protects_routes_nobody_listed():
    assert required_scope("GET", "/v1/something-new") == "read"
    assert required_scope("POST", "/v1/something-new") == "admin"
    assert required_scope("DELETE", "/v1/ingest") == "admin"
    assert required_scope("POST", "/v1/ingest/") == "admin"  # only the exact path is ingest
    assert required_scope("GET", "/healthz") is None


def test_refusals_say_why_in_the_apis_error_format(secured: TestClient, keys: Keys):
    missing = secured.get("/v1/models")
    unknown = secured.get("/v1/models", headers={"authorization": "Bearer sl_not-a-key"})
    basic = secured.get("/v1/models", headers={"authorization": "Basic dXNlcjpwYXNz"})
    forbidden = secured.post("/v1/ingest", json={"records": []}, headers=keys.header("viewer"))

    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == 'Bearer realm="sightline"'
    assert "Authorization: Bearer <key>" in missing.json()["message"]
    assert unknown.json() == {"error": "Unauthorized", "message": "unknown or revoked API key"}
    assert basic.status_code == 401
    assert forbidden.status_code == 403
    assert forbidden.json() == {
        "error": "Forbidden",
        "message": "the API key 'viewer' (scopes: read) lacks the 'ingest' scope that "
        "POST /v1/ingest needs",
    }


def test_healthz_stays_open_and_metrics_needs_read(secured: TestClient, keys: Keys):
    assert secured.get("/healthz").status_code == 200
    assert secured.get("/metrics").status_code == 401
    assert secured.get("/metrics", headers=keys.header("viewer")).status_code == 200


def test_keys_work_at_once_and_stop_working_when_revoked(secured: TestClient, keys: Keys):
    _, fresh = keys.store.create("late", ["read"])  # as `sightline keys create` would
    headers = {"authorization": f"Bearer {fresh}"}
    assert secured.get("/v1/models", headers=headers).status_code == 200

    keys.store.revoke("late")

    assert secured.get("/v1/models", headers=headers).status_code == 401


def test_the_keys_file_holds_hashes_only(auth_settings: Settings, keys: Keys):
    text = auth_settings.keys_path.read_text()

    for secret in keys.secret.values():
        assert secret not in text
    stored = json.loads(text)["keys"]
    assert {k["name"] for k in stored} == {"svc", "viewer", "root", "both"}
    assert all(re.fullmatch(r"[0-9a-f]{64}", k["sha256"]) for k in stored)
    assert stat.S_IMODE(auth_settings.keys_path.stat().st_mode) == 0o600


def test_a_damaged_keys_file_is_reported_not_guessed(
    secured: TestClient, keys: Keys, auth_settings: Settings
):
    auth_settings.keys_path.write_text("{not json")

    response = secured.get("/v1/models", headers=keys.header("root"))

    assert response.status_code == 503
    assert response.json()["error"] == "ConfigError"
    assert f"the keys file {auth_settings.keys_path} is damaged" in response.json()["message"]
    assert secured.get("/healthz").status_code == 200  # public paths still answer


def test_without_auth_nothing_changes(client: TestClient):
    assert client.get("/v1/models").status_code == 200
    response = client.post("/v1/ingest", json={"records": traffic(DAY0, 3)})
    assert response.status_code == 200
    assert client.get("/", headers={"accept": "text/html"}).status_code == 200
    assert client.get("/login", follow_redirects=False).headers["location"] == "/"


# -- the dashboard login ----------------------------------------------------------------------


def login(client: TestClient, key: str, next_url: str = "/") -> Any:
    return client.post("/login", data={"key": key, "next": next_url}, follow_redirects=False)


def test_a_page_sends_a_browser_to_the_login_form(secured: TestClient):
    response = secured.get(
        "/models/churn/report?x=1", headers={"accept": "text/html"}, follow_redirects=False
    )

    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fmodels%2Fchurn%2Freport%3Fx%3D1"
    form = secured.get(response.headers["location"])
    assert form.status_code == 200
    assert 'name="next" value="/models/churn/report?x=1"' in form.text
    assert 'type="password"' in form.text


def test_logging_in_sets_a_signed_secure_session_cookie(secured: TestClient, keys: Keys):
    response = login(secured, keys.secret["viewer"], "/reports")

    assert response.status_code == 303
    assert response.headers["location"] == "/reports"
    header = response.headers["set-cookie"]
    cookie = SimpleCookie(header)["sightline_session"]
    assert cookie["httponly"] is True
    assert cookie["secure"] is True
    assert cookie["samesite"].lower() == "lax"
    assert int(cookie["max-age"]) == 12 * 3600
    assert keys.secret["viewer"] not in header  # the key itself is never in the cookie
    page = secured.get("/reports")
    assert page.status_code == 200
    assert 'href="/logout"' in page.text
    assert "viewer" in page.text
    # The dashboard's scripts call the API with the same session.
    assert secured.get("/v1/models").status_code == 200
    # A read session cannot change anything.
    assert secured.delete("/v1/models/churn/config").status_code == 403


def test_login_refuses_unknown_keys_and_keys_without_read(secured: TestClient, keys: Keys):
    unknown = login(secured, "sl_guess")
    ingest_only = login(secured, keys.secret["svc"])

    assert unknown.status_code == 401
    assert "Unknown or revoked API key." in unknown.text
    assert ingest_only.status_code == 403
    assert "needs a key with the read (or admin) scope" in ingest_only.text
    assert "set-cookie" not in unknown.headers
    assert "set-cookie" not in ingest_only.headers


def test_logout_ends_the_session(secured: TestClient, keys: Keys):
    login(secured, keys.secret["root"])
    assert secured.get("/v1/models").status_code == 200

    response = secured.get("/logout", follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    assert 'sightline_session=""' in response.headers["set-cookie"]
    assert secured.get("/v1/models").status_code == 401


def test_after_login_only_paths_of_this_server_are_followed(secured: TestClient, keys: Keys):
    for target in ("https://evil.example.com/", "//evil.example.com/", "/\\evil.example.com"):
        assert login(secured, keys.secret["viewer"], target).headers["location"] == "/"


def test_a_session_ends_when_its_key_is_revoked(secured: TestClient, keys: Keys):
    _, secret = keys.store.create("ana", ["read"])
    login(secured, secret)
    assert secured.get("/v1/models").status_code == 200

    keys.store.revoke("ana")

    assert secured.get("/v1/models").status_code == 401
    page = secured.get("/reports", headers={"accept": "text/html"}, follow_redirects=False)
    assert page.headers["location"].startswith("/login")


def test_session_tokens_are_signed_and_expire(tmp_path: Path):
    store = KeyStore(tmp_path / "keys.json")
    key, _ = store.create("ana", ["read"])
    auth = Auth(store, session_hours=1)
    now = time.time()
    token = auth.session_token(key, now)
    payload, signature = token.split(".")

    assert auth.session_key(token, now) == key
    assert auth.session_key(token, now + 3599) == key
    assert auth.session_key(token, now + 3601) is None  # expired
    assert auth.session_key(payload + "." + signature[:-2] + "AA", now) is None  # tampered
    forged = Auth(KeyStore(tmp_path / "other.json")).session_token(key, now)
    assert auth.session_key(forged, now) is None  # signed with another secret
    assert auth.session_key("garbage", now) is None


# -- the SDK through a real server --------------------------------------------------------------


@pytest.mark.slow
def test_the_sdk_ingests_with_a_key_and_not_without_the_scope(tmp_path: Path):
    from tests.e2e.conftest import ServerProcess

    data = tmp_path / "data"
    store = KeyStore(data / "keys.json")
    _, ingest_key = store.create("svc-churn", ["ingest"])
    _, read_key = store.create("dashboards", ["read"])
    server = ServerProcess(
        data, tmp_path / "server.log", "--no-scheduler", env={"SIGHTLINE_AUTH": "true"}
    )
    server.start()
    try:
        wrong = Client(server.url, api_key=read_key, flush_interval=0.05, spill_dir=False)
        wrong.log_prediction("churn", {"x": 1.0}, 0.1, ts=DAY0)
        wrong.flush(10)
        refused = wrong.stats()
        wrong.close()
        sdk = Client(server.url, api_key=ingest_key, flush_interval=0.05)
        for i in range(20):
            sdk.log_prediction("churn", {"x": float(i)}, i / 20, ts=DAY0)
        assert sdk.flush(30)
        sdk.close()

        import httpx

        anonymous = httpx.get(server.url + "/v1/models/churn", timeout=10)
        reader = httpx.get(
            server.url + "/v1/models/churn",
            headers={"authorization": f"Bearer {read_key}"},
            timeout=10,
        )
    finally:
        server.stop()
    assert anonymous.status_code == 401
    assert reader.status_code == 200
    assert reader.json()["n_predictions"] == 20  # the read key's record was refused (403)
    assert (refused["rejected"], refused["sent"]) == (1, 0)
