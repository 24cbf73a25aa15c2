"""State changes an administrator makes: defining the custom fields of cases."""
from __future__ import annotations

import re

from sqlalchemy import select

from helpdesk.cases.models import CustomField, FieldType
from helpdesk.errors import ValidationFailed
from helpdesk.extensions import db
from helpdesk.people.models import User

KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,59}$")
LABEL_MAX = 100
CHOICE_MAX = 100


def parse_choices(raw: str | list[str] | None) -> list[str]:
    """One choice per line (or a list), stripped, blank lines and repeats dropped, order kept."""
    lines = raw.splitlines() if isinstance(raw, str) else list(raw or [])
    choices: list[str] = []
    for line in lines:
        choice = " ".join(str(line).split())
        if choice and choice not in choices:
            choices.append(choice)
    return choices


def create_custom_field(actor: User | None, *, key: str, label: str, type: FieldType | str,
                        choices: str | list[str] | None = None, required: bool = False, active: bool = True,
                        position: int | str | None = 0) -> CustomField:
    key = (key or "").strip().lower()
    errors: dict[str, str] = {}
    if not KEY_RE.match(key):
        errors["key"] = "Use lower-case letters, digits and underscores, starting with a letter (at most 60)."
    elif db.session.scalar(select(CustomField.id).where(CustomField.key == key)):
        errors["key"] = "Another field already uses this key."
    values = _check(errors, label=label, type=type, choices=choices, position=position)
    if errors:
        raise ValidationFailed(errors)
    field = CustomField(key=key, required=bool(required), active=bool(active), **values)
    db.session.add(field)
    db.session.flush()
    return field


def update_custom_field(actor: User, field: CustomField, *, label: str, choices: str | list[str] | None = None,
                        required: bool = False, active: bool = True, position: int | str | None = 0) -> CustomField:
    """Everything but the key and the type, which stored case values depend on."""
    errors: dict[str, str] = {}
    values = _check(errors, label=label, type=field.type, choices=choices, position=position)
    if errors:
        raise ValidationFailed(errors)
    field.label, field.choices, field.position = values["label"], values["choices"], values["position"]
    field.required, field.active = bool(required), bool(active)
    db.session.flush()
    return field


def _check(errors: dict, *, label, type, choices, position) -> dict:
    label = " ".join((label or "").split())
    if not label:
        errors["label"] = "Give the field a label."
    elif len(label) > LABEL_MAX:
        errors["label"] = f"At most {LABEL_MAX} characters."
    try:
        type = FieldType(type)
    except ValueError:
        errors["type"] = "Choose text, number, date or choice."
    cleaned = parse_choices(choices) if type == FieldType.CHOICE else []
    if type == FieldType.CHOICE and not cleaned:
        errors["choices"] = "A choice field needs at least one choice, one per line."
    elif any(len(c) > CHOICE_MAX for c in cleaned):
        errors["choices"] = f"Each choice may be at most {CHOICE_MAX} characters."
    try:
        position = int(str(position).strip() or 0) if position is not None else 0
    except ValueError:
        errors["position"] = "Enter a whole number."
        position = 0
    return dict(label=label, type=type, choices=cleaned, position=position)
