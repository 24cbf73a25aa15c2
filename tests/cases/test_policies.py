from datetime import date

import pytest

from helpdesk.cases.models import FieldType, Status
from helpdesk.cases.policies import (
    allowed_statuses,
    can_transition,
    clean_custom_value,
    status_after_assignment,
    status_after_customer_message,
)


@pytest.mark.parametrize(
    "old,new,ok",
    [
        (Status.NEW, Status.OPEN, True),
        (Status.NEW, Status.RESOLVED, True),
        (Status.OPEN, Status.NEW, False),
        (Status.RESOLVED, Status.OPEN, True),
        (Status.RESOLVED, Status.WAIT_CUSTOMER, False),
        (Status.CLOSED, Status.RESOLVED, False),
        (Status.CLOSED, Status.OPEN, True),
        (Status.WAIT_CUSTOMER, Status.WAIT_THIRD_PARTY, True),
        (Status.OPEN, Status.OPEN, True),
    ],
)
def test_transitions(old, new, ok):
    assert can_transition(old, new) is ok


def test_allowed_statuses_start_with_current_order_and_exclude_forbidden():
    options = allowed_statuses(Status.RESOLVED)
    assert options == [Status.OPEN, Status.RESOLVED, Status.CLOSED]


def test_assignment_moves_new_to_assigned_and_back():
    assert status_after_assignment(Status.NEW, True) == Status.ASSIGNED
    assert status_after_assignment(Status.ASSIGNED, False) == Status.NEW
    assert status_after_assignment(Status.OPEN, False) == Status.OPEN


def test_customer_message_reopens_waiting_and_resolved_cases():
    assert status_after_customer_message(Status.WAIT_CUSTOMER) == Status.OPEN
    assert status_after_customer_message(Status.RESOLVED) == Status.OPEN
    assert status_after_customer_message(Status.WAIT_THIRD_PARTY) == Status.WAIT_THIRD_PARTY


@pytest.mark.parametrize(
    "ftype,raw,expected",
    [
        (FieldType.NUMBER, "42", 42),
        (FieldType.NUMBER, "2.5", 2.5),
        (FieldType.DATE, "2026-11-23", date(2026, 11, 23).isoformat()),
        (FieldType.TEXT, "  Windows 11 ", "Windows 11"),
        (FieldType.CHOICE, "Linux", "Linux"),
        (FieldType.TEXT, "", None),
    ],
)
def test_custom_values_are_cleaned(ftype, raw, expected):
    assert clean_custom_value(ftype, raw, ["Linux", "macOS"]) == expected


@pytest.mark.parametrize(
    "ftype,raw,message",
    [
        (FieldType.NUMBER, "twelve", "must be a number"),
        (FieldType.NUMBER, "nan", "must be a number"),
        (FieldType.DATE, "23/11/2026", "must be a date"),
        (FieldType.CHOICE, "Windows", "must be one of: Linux, macOS"),
    ],
)
def test_bad_custom_values_say_why(ftype, raw, message):
    with pytest.raises(ValueError, match=message):
        clean_custom_value(ftype, raw, ["Linux", "macOS"])
