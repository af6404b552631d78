"""``sightline rules check`` offline, and ``sightline alerts ...`` against a real server (uvicorn
on a free 127.0.0.1 port, in this process, its clock moved by hand)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from sightline.cli.main import main
from sightline.config import Settings
from sightline.monitoring.config import parse_config
from sightline.server import create_app
from tests.monitoring.alerts.conftest import FakeClock
from tests.server.conftest import DAY0, DAY1, SHIFTED, traffic

RULES = """\
rules:
  - name: feature_drift
    metric: drift_detected
    condition: drifted
    labels: {category: drift}
route:
  group_wait: 0s
"""


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SIGHTLINE_URL", "SIGHTLINE_DATA_DIR", "SIGHTLINE_CONFIG", "SIGHTLINE_API_KEY"):
        monkeypatch.delenv(name, raising=False)


def test_rules_check_prints_a_summary_and_exits_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    assert main(["rules", "check", str(rules)]) == 0
    out = capsys.readouterr().out
    assert f"{rules}: 10 rules (9 built-in, 1 custom)" in out
    assert "rule      feature_drift: drifted" in out
    assert "built-in  no_data: no data for 2h" in out


def test_rules_check_lists_every_error_with_line_and_field_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    rules = tmp_path / "sightline.yaml"
    rules.write_text(
        "alerting:\n"
        "  rules:\n"
        "    - {name: a, metric: m, condition: '>> 1'}\n"
        "    - {name: b, metric: m, condition: drifted, for: later}\n"
        "  route: {receiver: nobody}\n"
    )
    assert main(["rules", "check", str(rules)]) == 2
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"{rules}:3: alerting.rules[0].condition: expected an operator")
    assert out[1].startswith(f"{rules}:4: alerting.rules[1].for: expected a duration")
    assert out[2].startswith(f"{rules}:5: alerting.route.receiver: no receiver 'nobody'")
    assert out[3] == "3 error(s)"


def test_rules_check_of_a_missing_file_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    assert main(["rules", "check", str(tmp_path / "nope.yaml")]) == 2
    assert "cannot read the rules file" in capsys.readouterr().err


class Server:
    def __init__(self, settings: Settings, clock: FakeClock, config_text: str):
        self.clock = clock
        self.url = f"http://127.0.0.1:{settings.port}"
        self.app = create_app(
            settings, clock=clock, start_scheduler=False, config=parse_config(config_text)
        )
        self.server = uvicorn.Server(
            uvicorn.Config(self.app, host="127.0.0.1", port=settings.port, log_level="warning")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert self.thread.is_alive(), "the server stopped"
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.02)

    def post(self, path: str, body: Any) -> None:
        response = httpx.post(self.url + path, json=body, timeout=60)
        assert response.status_code < 300, response.text

    def put(self, path: str, body: Any) -> int:
        return httpx.put(self.url + path, json=body, timeout=60).status_code

    def tick(self) -> None:
        self.app.state.services.alerting.tick()

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


@pytest.fixture
def server(settings: Settings) -> Iterator[Server]:
    config = "alerting:\n" + _indent(RULES + "builtin: {enabled: false}\n")
    running = Server(settings, FakeClock(DAY1), config)
    yield running
    running.stop()


def _indent(text: str) -> str:
    return "".join(f"  {line}\n" for line in text.splitlines())


def drift(server: Server) -> None:
    server.post("/v1/ingest", {"records": traffic(DAY0, 720, span=timedelta(days=1))})
    server.post("/v1/ingest", {"records": traffic(DAY1, 120, low=5, high=15, plans=SHIFTED)})
    server.clock.set(DAY1 + timedelta(hours=1, minutes=5))
    server.post(
        "/v1/models/churn/runs",
        {"from": DAY1.isoformat(), "to": (DAY1 + timedelta(hours=1)).isoformat()},
    )
    server.tick()


@pytest.mark.slow
def test_alerts_commands_against_a_running_server(
    server: Server, capsys: pytest.CaptureFixture[str]
):
    url = ["--url", server.url]
    assert main(["alerts", "list", *url]) == 0
    assert capsys.readouterr().out.strip().endswith("0 alert(s)")
    drift(server)

    assert main(["alerts", "list", *url]) == 0
    out = capsys.readouterr().out
    assert "3 alert(s)" in out
    assert "feature_drift" in out
    assert "drift_detected column=plan" in out

    assert main(["alerts", "list", "--json", "--model", "churn", *url]) == 0
    alerts = json.loads(capsys.readouterr().out)
    fingerprint = alerts[0]["fingerprint"]
    assert {a["state"] for a in alerts} == {"firing"}

    assert main(["alerts", "ack", fingerprint, "--by", "ana", "--comment", "on it", *url]) == 0
    assert f"acknowledged {fingerprint}" in capsys.readouterr().out
    assert main(["alerts", "list", *url]) == 0
    assert "acked by ana" in capsys.readouterr().out

    assert main(["alerts", "history", "--fingerprint", fingerprint, *url]) == 0
    out = capsys.readouterr().out
    assert "firing -> firing" in out
    assert "acknowledged by ana: on it" in out
    assert main(["alerts", "history", "--model", "churn", "--json", *url]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 4

    assert main(["alerts", "silence", "--match", "model=churn", "--match", "severity=~warn.*",
                 "--for", "2h", "--comment", "retraining", *url]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "model=churn, severity=~warn.*" in out
    silence_id = out.split()[1].rstrip(":")
    assert main(["alerts", "silences", *url]) == 0
    assert "retraining" in capsys.readouterr().out
    assert main(["alerts", "list", *url]) == 0
    assert f"silenced by {silence_id}" in capsys.readouterr().out
    assert main(["alerts", "unsilence", silence_id, *url]) == 0
    assert main(["alerts", "unsilence", silence_id, *url]) == 2
    assert "no silence with id" in capsys.readouterr().err

    assert main(["alerts", "notifications", *url]) == 0  # delivered to the log channel
    out = capsys.readouterr().out
    assert "log/0-log" in out
    assert "delivered" in out

    assert main(["rules", "list", *url]) == 0
    assert "feature_drift" in capsys.readouterr().out

    assert main(["alerts", "ack", "0123456789abcdef", *url]) == 2
    assert "no alert with fingerprint" in capsys.readouterr().err
    assert main(["alerts", "silence", "--match", "model", *url]) == 2
    assert "expected a matcher" in capsys.readouterr().err


def test_rules_apply_and_delete_against_a_running_server(
    server: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    url = ["--url", server.url]
    rules = tmp_path / "team-rules.yaml"
    rules.write_text(
        "rules:\n"
        "  - name: drift_share\n"
        "    metric: share_of_drifted_columns\n"
        "    condition: '> 0.5'\n"
        "  - name: slow\n"
        "    metric: latency_p95\n"
        "    condition: {change: '> 50%', baseline: trailing, windows: 24}\n"
        "route: {group_wait: 0s}\n"
    )
    assert main(["rules", "apply", str(rules), *url]) == 0
    out = capsys.readouterr().out
    assert "applied  drift_share: > 0.5" in out
    assert "applied  slow: change > +50% vs the mean of the 24 windows before" in out
    assert "not applied (they live in the server's config file): route" in out
    assert main(["rules", "list", *url]) == 0
    listed = capsys.readouterr().out
    sources = {line.split()[0]: line.split()[-1] for line in listed.splitlines()[2:]}
    assert sources == {"feature_drift": "config", "drift_share": "api", "slow": "api"}

    drift(server)
    assert main(["alerts", "list", *url]) == 0
    assert "drift_share" in capsys.readouterr().out
    assert main(["rules", "delete", "drift_share", *url]) == 0
    assert "deleted  drift_share (1 alert(s) ended)" in capsys.readouterr().out
    assert main(["rules", "delete", "drift_share", *url]) == 2
    assert "no rule 'drift_share'" in capsys.readouterr().err

    rules.write_text("rules:\n  - name: bad\n    metric: x\n    condition: '> soon'\n")
    assert main(["rules", "apply", str(rules), *url]) == 2
    out = capsys.readouterr().out
    assert f"{rules}:4: rules[0].condition: expected an operator" in out
    assert "nothing was applied" in out


def test_alerts_list_without_a_server_says_so(capsys: pytest.CaptureFixture[str]):
    from tests.conftest import free_port

    assert main(["alerts", "list", "--url", f"http://127.0.0.1:{free_port()}"]) == 3
    assert "cannot reach the Sightline server" in capsys.readouterr().err
