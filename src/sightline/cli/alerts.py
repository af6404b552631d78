"""``sightline alerts ...`` and ``sightline rules ...``: alerts, silences and rules.

The ``alerts`` commands talk to the running server (``--url``); ``rules check FILE`` validates
a rules file offline and exits 0 with a summary, or 2 with every error (line and field);
``rules apply FILE`` validates it the same way, then sets its rules on the server.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from sightline.cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, api, print_table, settings_from

__all__ = ["add_parsers"]


def _short(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _series(labels: dict[str, str]) -> str:
    parts = [labels.get("metric", "")]
    for key in ("column", "segment", "model_version"):
        if labels.get(key):
            parts.append(f"{key}={labels[key]}")
    return " ".join(p for p in parts if p)


def cmd_list(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    states = ["firing", "pending"] if args.state is None else [args.state]
    alerts: list[dict[str, Any]] = []
    for state in states:
        params = {"state": state, **({"model": args.model} if args.model else {})}
        alerts += api(settings, "GET", "/v1/alerts", params=params)["alerts"]
    if args.json:
        print(json.dumps(alerts, indent=2))
        return EXIT_OK
    print_table(
        ["fingerprint", "state", "rule", "severity", "model", "series", "value", "since", "note"],
        [
            [
                a["fingerprint"],
                a["state"],
                a["rule"],
                a["labels"].get("severity", ""),
                a["labels"].get("model", ""),
                _series(a["labels"]),
                a["annotations"].get("value", ""),
                (a["fired_at"] or a["active_since"] or "")[:16],
                a["muted"] or (f"acked by {a['acked_by'] or '?'}" if a["acked_at"] else ""),
            ]
            for a in alerts
        ],
    )
    print(f"{len(alerts)} alert(s)")
    return EXIT_OK


def cmd_history(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    if args.fingerprint:
        history = api(settings, "GET", f"/v1/alerts/{args.fingerprint}")["history"]
    else:
        params: dict[str, Any] = {
            "limit": args.limit,
            **({"model": args.model} if args.model else {}),
        }
        history = api(settings, "GET", "/v1/alerts/history", params=params)["history"]
    if args.json:
        print(json.dumps(history, indent=2))
        return EXIT_OK
    print_table(
        ["at", "fingerprint", "rule", "model", "change", "value", "window", "summary"],
        [
            [
                t["at"][:19],
                t["fingerprint"],
                t["rule"],
                t["labels"].get("model", ""),
                f"{t['from_state']} -> {t['to_state']}",
                "" if t["value"] is None else f"{t['value']:.4g}",
                (t["window_start"] or "")[:16],
                _short(t["summary"]),
            ]
            for t in history
        ],
    )
    return EXIT_OK


def cmd_silence(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    body = {
        "matchers": args.match,
        "duration": args.duration,
        "comment": args.comment,
        "created_by": args.by,
    }
    silence = api(settings, "POST", "/v1/silences", json=body)["silence"]
    print(f"silence {silence['id']}: {', '.join(silence['matchers'])} until {silence['ends_at']}")
    return EXIT_OK


def cmd_silences(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    silences = api(settings, "GET", "/v1/silences", params={"expired": args.expired})["silences"]
    if args.json:
        print(json.dumps(silences, indent=2))
        return EXIT_OK
    print_table(
        ["id", "status", "matchers", "until", "by", "comment"],
        [
            [
                s["id"],
                s["status"],
                ", ".join(s["matchers"]),
                s["ends_at"][:16],
                s["created_by"],
                _short(s["comment"], 40),
            ]
            for s in silences
        ],
    )
    return EXIT_OK


def cmd_unsilence(args: argparse.Namespace) -> int:
    api(settings_from(args), "DELETE", f"/v1/silences/{args.id}")
    print(f"silence {args.id} ended")
    return EXIT_OK


def cmd_ack(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    body = {"by": args.by, "comment": args.comment}
    alert = api(settings, "POST", f"/v1/alerts/{args.fingerprint}/ack", json=body)["alert"]
    print(f"acknowledged {alert['fingerprint']} ({alert['rule']}, {alert['state']})")
    return EXIT_OK


def cmd_notifications(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    params: dict[str, Any] = {
        "limit": args.limit,
        **({"status": args.status} if args.status else {}),
    }
    entries = api(settings, "GET", "/v1/notifications", params=params)["notifications"]
    if args.json:
        print(json.dumps(entries, indent=2))
        return EXIT_OK
    print_table(
        ["created", "channel", "status", "attempts", "alerts", "group", "last error"],
        [
            [
                e["created_at"][:19],
                e["channel"],
                e["status"],
                e["attempts"],
                f"{len(e['notification']['alerts'])} {e['notification']['status']}",
                " ".join(v for v in e["notification"]["group_labels"].values() if v),
                _short(e["last_error"]),
            ]
            for e in entries
        ],
    )
    failed = [e for e in entries if e["status"] == "failed"]
    return EXIT_FAILED if failed and args.status != "failed" else EXIT_OK


def cmd_rules_check(args: argparse.Namespace) -> int:
    from sightline.errors import ConfigErrors  # the alerting package loads only when used
    from sightline.monitoring.alerts import load_rules_file

    try:
        config = load_rules_file(args.file)
    except ConfigErrors as error:
        for message in error.errors:
            print(message)
        print(f"{len(error.errors)} error(s)")
        return EXIT_USAGE
    print(config.summary())
    for rule in config.rules:
        kind = "built-in" if rule.builtin else "rule"
        print(f"  {kind:8}  {rule.name}: {rule.condition.describe()}")
    return EXIT_OK


def cmd_rules_list(args: argparse.Namespace) -> int:
    body = api(settings_from(args), "GET", "/v1/rules")
    if args.json:
        print(json.dumps(body, indent=2))
        return EXIT_OK
    print_table(
        ["rule", "metrics", "condition", "for", "severity", "source"],
        [
            [
                r["name"],
                ",".join(r["metrics"]),
                r["condition"],
                r["for"],
                r["severity"],
                r["source"],
            ]
            for r in body["rules"]
        ],
    )
    return EXIT_OK


def cmd_rules_apply(args: argparse.Namespace) -> int:
    from sightline.errors import ConfigErrors
    from sightline.monitoring.alerts import load_rules_file
    from sightline.schema.yamldoc import YamlDoc

    try:
        load_rules_file(args.file)  # every mistake with its line, before anything is sent
    except ConfigErrors as error:
        for message in error.errors:
            print(message)
        print(f"{len(error.errors)} error(s); nothing was applied")
        return EXIT_USAGE
    with open(args.file, encoding="utf-8") as file:
        root = YamlDoc.parse(file.read(), args.file).data
    section = root.get("alerting", root) if isinstance(root, dict) else {}
    items = (section or {}).get("rules") or []
    ignored = sorted(set(section or {}) - {"rules"})
    if not items:
        print(f"{args.file} has no rules to apply (expected rules: [...] or alerting.rules)")
        return EXIT_USAGE
    settings = settings_from(args)
    for item in items:
        name = item["name"]
        rule = api(settings, "PUT", f"/v1/rules/{name}", json=item)
        print(f"applied  {name}: {rule['condition']}")
    if ignored:
        print(f"not applied (they live in the server's config file): {', '.join(ignored)}")
    return EXIT_OK


def cmd_rules_delete(args: argparse.Namespace) -> int:
    body = api(settings_from(args), "DELETE", f"/v1/rules/{args.name}")
    ended = len(body["ended_alerts"])
    print(f"deleted  {args.name}" + (f" ({ended} alert(s) ended)" if ended else ""))
    return EXIT_OK


def _server(p: argparse.ArgumentParser) -> None:
    p.add_argument("--url", help="URL of the running Sightline server")


def add_parsers(sub: Any) -> None:
    """Register ``sightline alerts`` and ``sightline rules``."""
    alerts = sub.add_parser("alerts", help="alerts: list, history, silence, ack, notifications")
    actions = alerts.add_subparsers(dest="action", required=True, metavar="ACTION")

    p = actions.add_parser("list", help="firing and pending alerts (or those in --state)")
    _server(p)
    p.add_argument("--state", choices=("firing", "pending", "resolved", "inactive"))
    p.add_argument("--model", help="only this model's alerts")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_list)

    p = actions.add_parser("history", help="state changes and acknowledgements, newest first")
    _server(p)
    p.add_argument("--model", help="only this model's alerts")
    p.add_argument("--fingerprint", help="only this alert")
    p.add_argument("--limit", type=int, default=50, help="how many (default 50)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_history)

    p = actions.add_parser("silence", help="mute the alerts matching --match for a while")
    _server(p)
    p.add_argument(
        "--match", action="append", required=True, metavar="LABEL=VALUE",
        help="a label matcher (=, !=, =~, !~); repeat for several",
    )  # fmt: skip
    p.add_argument("--for", dest="duration", default="2h", help="how long (default 2h)")
    p.add_argument("--comment", default="", help="why")
    p.add_argument("--by", default="", help="who")
    p.set_defaults(func=cmd_silence)

    p = actions.add_parser("silences", help="list silences")
    _server(p)
    p.add_argument("--expired", action="store_true", help="ended silences too")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_silences)

    p = actions.add_parser("unsilence", help="end a silence now")
    _server(p)
    p.add_argument("id", help="the silence id")
    p.set_defaults(func=cmd_unsilence)

    p = actions.add_parser("ack", help="acknowledge an alert: no more repeats of it")
    _server(p)
    p.add_argument("fingerprint", help="the alert's fingerprint (see `alerts list`)")
    p.add_argument("--by", default="", help="who is handling it")
    p.add_argument("--comment", default="", help="what is being done")
    p.set_defaults(func=cmd_ack)

    p = actions.add_parser(
        "notifications", help="the outbox: delivery status, attempts and errors (exit 1: failures)"
    )
    _server(p)
    p.add_argument("--status", choices=("pending", "delivered", "failed"))
    p.add_argument("--limit", type=int, default=50, help="how many (default 50)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_notifications)

    rules = sub.add_parser("rules", help="alert rules: check a file, list, apply or delete rules")
    actions = rules.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = actions.add_parser(
        "check",
        help="validate a rules file offline (exit 2 with every error's line and field)",
        description="Validate FILE: a whole config file (sightline.yaml) or a bare alerting "
        "section (rules:, route:, receivers: ... at the top). Needs no server and no secrets.",
    )
    p.add_argument("file", help="the rules or config file")
    p.set_defaults(func=cmd_rules_check)
    p = actions.add_parser("list", help="the rules the server evaluates, built-ins included")
    _server(p)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_rules_list)
    p = actions.add_parser(
        "apply",
        help="add or replace the rules of a file on the running server (kept across restarts)",
        description="Validate FILE offline (as `rules check`), then set each item of its "
        "rules: list (or alerting.rules) on the server through PUT /v1/rules/{name}. The "
        "config file's own rules and the built-ins are changed in that file instead.",
    )
    _server(p)
    p.add_argument("file", help="a YAML file with rules: [...] (or a config file)")
    p.set_defaults(func=cmd_rules_apply)
    p = actions.add_parser("delete", help="remove a rule set with `rules apply` or the API")
    _server(p)
    p.add_argument("name", help="the rule's name")
    p.set_defaults(func=cmd_rules_delete)
