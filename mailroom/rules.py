"""Mailbox rules: ordered conditions on a parsed mail; the first rule that matches gives its actions."""
from __future__ import annotations

import re

from mailroom.parsing import ParsedEmail

FIELDS = ("from", "to", "cc", "subject", "body", "plus")
OPS = ("contains", "equals", "regex", "domain")


def field_values(mail: ParsedEmail, field: str, plus_tags: list[str]) -> list[str]:
    if field == "from":
        return [mail.from_addr, mail.from_name]
    if field == "to":
        return [a for _, a in mail.to]
    if field == "cc":
        return [a for _, a in mail.cc]
    if field == "subject":
        return [mail.subject]
    if field == "body":
        return [mail.text]
    if field == "plus":
        return list(plus_tags)
    if field.startswith("header:"):
        return [mail.headers.get(field[7:].strip().lower(), "")]
    raise ValueError(f"unknown field {field!r}")


def condition_holds(condition: dict, mail: ParsedEmail, plus_tags: list[str]) -> bool:
    op, wanted = condition.get("op", "contains"), str(condition.get("value", ""))
    for value in field_values(mail, condition.get("field", "subject"), plus_tags):
        value = value or ""
        if op == "contains" and wanted.lower() in value.lower():
            return True
        if op == "equals" and wanted.lower() == value.lower():
            return True
        if op == "regex" and re.search(wanted, value, re.I):
            return True
        if op == "domain" and value.lower().rpartition("@")[2] == wanted.lower().lstrip("@"):
            return True
    return False


def first_match(rules, mail: ParsedEmail, plus_tags: list[str]):
    """The first active rule (in position order) all of whose conditions hold."""
    for rule in rules:
        if rule.active and rule.conditions and all(condition_holds(c, mail, plus_tags) for c in rule.conditions):
            return rule
    return None


def check_rule(conditions: list, actions: dict) -> dict[str, str]:
    """Field errors of a rule as an admin wrote it."""
    errors = {}
    for c in conditions:
        field, op = str(c.get("field", "")), c.get("op")
        if field not in FIELDS and not field.startswith("header:"):
            errors["conditions"] = f"Unknown field {field!r}."
        elif op not in OPS:
            errors["conditions"] = f"Unknown test {op!r}."
        elif op == "regex":
            try:
                re.compile(str(c.get("value", "")))
            except re.error as exc:
                errors["conditions"] = f"Bad pattern: {exc}."
    if not conditions:
        errors["conditions"] = "A rule needs at least one condition."
    unknown = set(actions) - {"group_id", "priority", "tags", "organization_id", "ignore", "forward_to"}
    if unknown:
        errors["actions"] = f"Unknown actions: {', '.join(sorted(unknown))}."
    return errors
