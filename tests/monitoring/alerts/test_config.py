"""The alerting section of the config file: what it builds, and errors with line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from sightline.errors import ConfigErrors
from sightline.monitoring.alerts import load_rules_file, parse_alerting
from sightline.monitoring.alerts.builtin import BUILTIN
from sightline.monitoring.alerts.conditions import (
    Change,
    Drifted,
    NoData,
    OutsideRange,
    Threshold,
)
from sightline.schema.yamldoc import YamlDoc

EXAMPLE = """\
alerting:
  external_url: https://sightline.example.com/
  builtin:
    disabled: [latency]
    models:
      batch-scorer: {disabled: [no_data]}
      sandbox: false
    overrides:
      dataset_drift: {for: 3, severity: critical}
  rules:
    - name: age_drift
      model: churn
      metric: drift_score
      column: [age, "tenure*"]
      condition: drifted
      for: 2h
      keep_firing_for: 1
      labels: {team: growth}
      annotations:
        summary: "{column} drifted on {model}: {value:.3f}"
        runbook_url: https://wiki.example.com/runbooks/drift
    - name: accuracy_band
      metric: accuracy
      condition: {outside: [0.7, 0.99]}
    - name: slow_p99
      metric: latency_p99
      segment: "event=predict"
      condition: "> 800"
  receivers:
    ml-team:
      - webhook: {url: "https://hooks.example.com/x", secret: "${HOOK_SECRET}"}
      - email: {to: ml@example.com, from: sightline@example.com, host: smtp.example.com}
    pager:
      - alertmanager: {url: "http://alertmanager:9093", ttl: 6h}
  route:
    receiver: ml-team
    group_by: [alertname, model]
    repeat_interval: 12h
    routes:
      - matchers: ["severity=critical"]
        receiver: pager
        continue: true
      - matchers: ["team=growth"]
        group_by: [alertname]
  inhibit_rules:
    - source_matchers: [alertname=dataset_drift]
      target_matchers: [alertname=prediction_drift]
      equal: [model]
  delivery: {retry_max: 15m}
"""


def parse(text: str, environ: dict[str, str] | None = None):
    doc = YamlDoc.parse(text, "sightline.yaml")
    return parse_alerting(doc.data.get("alerting"), doc, ("alerting",), environ)


def errors(text: str) -> list[str]:
    with pytest.raises(ConfigErrors) as caught:
        parse(text)
    return caught.value.errors


def test_a_full_section_builds_rules_and_policy():
    config = parse(EXAMPLE, {"HOOK_SECRET": "s3cret"})
    assert config.external_url == "https://sightline.example.com"
    names = [r.name for r in config.rules]
    assert names == [n for n in BUILTIN if n != "latency"] + [
        "age_drift",
        "accuracy_band",
        "slow_p99",
    ]
    drift = config.rule("dataset_drift")
    assert (drift.for_.windows, drift.severity, drift.builtin) == (3, "critical", True)
    assert config.rule("no_data").scope.exclude_models == ("batch-scorer", "sandbox")
    assert config.rule("error_rate").scope.exclude_models == ("sandbox",)
    age = config.rule("age_drift")
    assert isinstance(age.condition, Drifted)
    assert (age.scope.models, age.scope.columns) == (("churn",), ("age", "tenure*"))
    assert (age.for_.seconds, age.keep_firing_for.windows) == (7200.0, 1)
    assert age.labels == {"team": "growth"}
    assert isinstance(config.rule("accuracy_band").condition, OutsideRange)
    slow = config.rule("slow_p99")
    assert slow.condition == Threshold(">", 800.0)
    assert slow.scope.segment == "event=predict"
    assert isinstance(config.rule("no_data").condition, NoData)
    assert config.rule("quality_drop").condition == Change("<", -0.1, "auto", 7, True, sigmas=3)
    policy = config.policy
    assert [c.name for c in policy.channels] == [
        "ml-team/0-webhook",
        "ml-team/1-email",
        "pager/0-alertmanager",
    ]
    assert policy.channels[0].settings["secret"] == "s3cret"
    assert policy.channels[1].settings["to"] == ["ml@example.com"]
    assert policy.channels[1].settings["port"] == 587  # STARTTLS by default
    assert policy.channels[2].settings["ttl"] == 6 * 3600
    assert policy.route.repeat_interval == 12 * 3600
    child, growth = policy.route.routes
    assert (child.receiver, child.continue_, child.repeat_interval) == ("pager", True, 12 * 3600)
    assert (growth.receiver, growth.group_by) == ("ml-team", ("alertname",))  # inherited
    assert [r.id for r in policy.route.match({"severity": "critical", "team": "growth"})] == [
        "0.0",
        "0.1",
    ]  # continue: the next sibling is tried too
    assert [r.id for r in policy.route.match({"severity": "critical"})] == ["0.0"]
    assert [r.id for r in policy.route.match({"severity": "info"})] == ["0"]
    assert len(policy.inhibit_rules) == 2  # the built-in one and ours
    assert policy.delivery.retry_max == 900
    assert "11 rules (8 built-in, 3 custom)" in config.summary()


def test_no_section_gives_the_builtins_and_a_log_channel():
    config = parse_alerting(None)
    assert [r.name for r in config.rules] == list(BUILTIN)
    assert [(c.receiver, c.type) for c in config.policy.channels] == [("log", "log")]
    assert config.policy.route.receiver == "log"


def test_builtins_can_be_switched_off_entirely():
    config = parse_alerting({"builtin": {"enabled": False, "inhibit": False}})
    assert config.rules == ()
    assert config.policy.inhibit_rules == ()


def test_errors_name_the_line_and_the_field():
    found = errors(
        """\
alerting:
  rules:
    - name: a
      metric: drift_score
      condition: "=> 0.1"
    - name: b
      metric: x
      condition: drifted
      for: soon
    - name: c
      metrik: x
      condition: drifted
"""
    )
    assert found == [
        "sightline.yaml:5: alerting.rules[0].condition: expected an operator (>, >=, <, <=) and "
        "a number: '> 0.1' or '<= 0.8'",
        "sightline.yaml:9: alerting.rules[1].for: expected a duration such as 5m, 2h or 1d, got "
        "'soon'",
        "sightline.yaml:11: alerting.rules[2].metrik: unknown field 'metrik'; did you mean "
        "'metric'?",
    ]


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ("rules:\n  - name: a\n    metric: m\n", "3: alerting.rules[0]: a rule needs a condition"),
        ("rules:\n  - {name: a, condition: drifted}\n",
         "3: alerting.rules[0]: a rule needs a metric"),
        ("rules:\n  - name: a\n    metric: m\n    condition: {change: '< 10', baseline: x}\n",
         "5: alerting.rules[0].condition.baseline: expected trailing, reference or auto"),
        ("rules:\n  - name: a\n    metric: m\n    condition: {change: '< 10', sigmas: -1}\n",
         "5: alerting.rules[0].condition.sigmas: expected a number of standard errors from 0 "
         "to 10"),
        ("rules:\n  - name: a\n    condition: {no_data: 1h}\n    for: 2\n",
         "5: alerting.rules[0].for: a no_data rule is evaluated on a timer: give a duration"),
        ("rules:\n  - name: a\n    metric: m\n    condition: drifted\n    severity: high\n",
         "6: alerting.rules[0].severity: expected one of info, warning, critical"),
        ("rules:\n  - name: a\n    metric: m\n    condition: drifted\n    labels: {model: x}\n",
         "6: alerting.rules[0].labels.model: 'model' is set by Sightline"),
        ("rules:\n  - name: a\n    metric: m\n    condition: drifted\n"
         "    annotations: {summary: '{colum}'}\n",
         "6: alerting.rules[0].annotations.summary: unknown template field '{colum}'"),
        ("rules:\n  - {name: dataset_drift, metric: m, condition: drifted}\n",
         "3: alerting.rules[0].name: 'dataset_drift' is taken; to change a built-in rule use"),
        ("builtin:\n  disabled: [nodata]\n",
         "3: alerting.builtin.disabled[0]: no built-in rule 'nodata'"),
        ("builtin:\n  overrides:\n    dataset_drift: {for: -1}\n",
         "4: alerting.builtin.overrides.dataset_drift.for: expected a number of windows"),
        ("receivers:\n  a:\n    - webhook: {url: ftp://x}\n",
         "4: alerting.receivers.a[0].webhook.url: expected an http(s):// URL"),
        ("receivers:\n  a:\n    - email: {from: a@b, host: h}\n",
         "4: alerting.receivers.a[0].email: a email channel needs 'to'"),
        ("receivers:\n  a:\n    - email: {to: x@y, from: a@b, host: h, security: tls}\n",
         "4: alerting.receivers.a[0].email.security: expected none, starttls or ssl"),
        ("receivers:\n  a:\n    - pigeon: {}\n",
         "4: alerting.receivers.a[0]: expected one channel"),
        ("receivers:\n  a: [{log: {}}]\nroute:\n  receiver: b\n",
         "5: alerting.route.receiver: no receiver 'b'; known: a"),
        ("route:\n  routes:\n    - matchers: [severity]\n",
         "4: alerting.route.routes[0].matchers[0]: expected a matcher such as"),
        ("route:\n  group_wait: later\n", "3: alerting.route.group_wait: expected a duration"),
        ("inhibit_rules:\n  - {target_matchers: [a=b]}\n",
         "3: alerting.inhibit_rules[0].source_matchers: expected a non-empty list"),
        ("delivery: {retry_initial: 1h, retry_max: 1m}\n", "2: alerting.delivery: expected 0 <"),
        ("external_url: sightline.local\n", "2: alerting.external_url: expected an http(s)://"),
        ("rulez: []\n", "2: alerting.rulez: unknown field 'rulez'; did you mean 'rules'?"),
    ],
)  # fmt: skip
def test_each_mistake_is_reported_where_it_is(section: str, expected: str):
    text = "alerting:\n" + "".join(f"  {line}\n" for line in section.splitlines())
    found = errors(text)
    assert len(found) == 1, found
    assert found[0].startswith(f"sightline.yaml:{expected}"), found[0]


def test_secrets_come_from_the_environment_given():
    text = 'alerting:\n  receivers:\n    a:\n      - slack: {url: "https://x/${SLACK_PATH}"}\n'
    assert parse(text, {"SLACK_PATH": "T0/B0"}).policy.channels[0].settings["url"] == (
        "https://x/T0/B0"
    )
    assert parse(text).policy.channels[0].settings["url"] == "https://x/${SLACK_PATH}"
    with pytest.raises(ConfigErrors, match=r"sightline.yaml:4: .*slack.url: environment variable"):
        parse(text, {})


def test_a_rules_file_may_be_a_bare_section_or_a_whole_config(tmp_path: Path):
    bare = tmp_path / "rules.yaml"
    bare.write_text("rules:\n  - {name: x, metric: row_count, condition: '< 10'}\n")
    config = load_rules_file(bare)
    assert config.rule("x").condition == Threshold("<", 10.0)
    assert config.source == str(bare)
    whole = tmp_path / "sightline.yaml"
    whole.write_text(
        "models:\n  churn:\n    granularity: 7m\nalerting:\n  rules:\n    - {name: x}\n"
    )
    with pytest.raises(ConfigErrors) as caught:
        load_rules_file(whole)
    assert caught.value.errors == [
        f"{whole}:3: models.churn.granularity: unknown granularity '7m'; use one of 5m, 15m, "
        "1h, 1d, 1w",
        f"{whole}:6: alerting.rules[0]: a rule needs a condition",
    ]
