"""``sightline keys``: a key is printed once and stored hashed; list and revoke; mistakes are
usage errors; a server with auth on accepts the key at once (no restart)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import httpx
import pytest

from sightline.cli.main import main
from sightline.config import ENV_PREFIX
from sightline.store.keys import KeyStore


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI reads SIGHTLINE_* variables: none from the developer's shell may leak in."""
    for name in list(os.environ):
        if name.startswith(ENV_PREFIX):
            monkeypatch.delenv(name)


def keys(capsys: pytest.CaptureFixture[str], data_dir: Path, *args: str) -> tuple[int, str, str]:
    code = main(["keys", args[0], "--data-dir", str(data_dir), *args[1:]])
    out, err = capsys.readouterr()
    return code, out, err


def test_create_prints_the_key_once_and_stores_its_hash(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    code, out, err = keys(capsys, tmp_path, "create", "--name", "svc-a", "--scope", "ingest")

    assert code == 0
    secret = out.strip()
    assert secret.startswith("sl_")
    assert len(secret) == 46
    assert "\n" not in secret  # alone on stdout: KEY=$(sightline keys create ...)
    assert "Created the API key 'svc-a' (scopes: ingest)" in err
    assert "shown once" in err
    stored = (tmp_path / "keys.json").read_text()
    assert secret not in stored
    found = KeyStore(tmp_path / "keys.json").find(secret)
    assert found is not None
    assert (found.name, found.scopes) == ("svc-a", ("ingest",))


def test_list_shows_names_scopes_and_first_characters_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    keys(capsys, tmp_path, "create", "--name", "svc-a", "--scope", "ingest")
    _, out, _ = keys(
        capsys, tmp_path, "create", "--name", "ana", "--scope", "read", "--scope", "admin"
    )
    secret = out.strip()

    code, table, _ = keys(capsys, tmp_path, "list")
    _, as_json, _ = keys(capsys, tmp_path, "list", "--json")

    assert code == 0
    assert secret not in table
    lines = table.splitlines()
    assert lines[0].split() == ["name", "scopes", "key", "starts", "with", "created"]
    assert lines[2].split()[:3] == ["svc-a", "ingest", lines[2].split()[2]]
    assert lines[3].split()[:3] == ["ana", "read,admin", secret[:8] + "…"]
    assert "2 key(s) in" in table
    listed = json.loads(as_json)
    assert [(k["name"], k["scopes"]) for k in listed] == [
        ("svc-a", ["ingest"]),
        ("ana", ["read", "admin"]),
    ]
    assert all("sha256" not in k for k in listed)


def test_revoke_deletes_the_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    _, out, _ = keys(capsys, tmp_path, "create", "--name", "svc-a", "--scope", "ingest")

    code, message, _ = keys(capsys, tmp_path, "revoke", "svc-a")

    assert code == 0
    assert "Revoked the API key 'svc-a'" in message
    assert KeyStore(tmp_path / "keys.json").find(out.strip()) is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["revoke", "ghost"], "no API key named 'ghost' (keys: svc-a)"),
        (["create", "--name", "svc-a", "--scope", "read"], "a key named 'svc-a' exists"),
        (["create", "--name", "no spaces", "--scope", "read"], "a key name is 1 to 100"),
    ],
)
def test_mistakes_are_usage_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
):
    keys(capsys, tmp_path, "create", "--name", "svc-a", "--scope", "ingest")

    code, _, err = keys(capsys, tmp_path, *args)

    assert code == 2
    assert message in err


def test_an_unknown_scope_is_refused_by_the_parser(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    with pytest.raises(SystemExit) as exited:
        keys(capsys, tmp_path, "create", "--name", "x", "--scope", "write")
    assert exited.value.code == 2
    assert "invalid choice: 'write'" in capsys.readouterr().err


def test_the_keys_file_may_live_elsewhere(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
):
    elsewhere = tmp_path / "secrets" / "sightline-keys.json"
    code, _, _ = keys(
        capsys, tmp_path, "create", "--name", "a", "--scope", "read", "--keys-file", str(elsewhere)
    )
    monkeypatch.setenv("SIGHTLINE_KEYS_FILE", str(elsewhere))
    _, listed, _ = keys(capsys, tmp_path / "other", "list")

    assert code == 0
    assert elsewhere.is_file()
    assert not (tmp_path / "keys.json").exists()
    assert listed.splitlines()[2].split()[0] == "a"


@pytest.mark.slow
def test_a_running_server_accepts_a_new_key_at_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    from tests.e2e.conftest import ServerProcess

    data = tmp_path / "data"
    server = ServerProcess(
        data, tmp_path / "server.log", "--no-scheduler", env={"SIGHTLINE_AUTH": "true"}
    )
    server.start()
    try:
        assert httpx.get(server.url + "/v1/models", timeout=10).status_code == 401
        _, out, _ = keys(capsys, data, "create", "--name", "ana", "--scope", "read")
        headers = {"authorization": f"Bearer {out.strip()}"}
        allowed = httpx.get(server.url + "/v1/models", headers=headers, timeout=10)
        keys(capsys, data, "revoke", "ana")
        revoked = httpx.get(server.url + "/v1/models", headers=headers, timeout=10)
    finally:
        server.stop()
    assert allowed.status_code == 200
    assert revoked.status_code == 401
