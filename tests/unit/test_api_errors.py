"""The 422 body names fields the way a client sent them, whatever pydantic's location tuple looks like."""

import pytest

from backend.api.errors import FieldError, field_errors, field_name


@pytest.mark.parametrize(
    ("loc", "expected"),
    [
        (("query", "limit"), "limit"),
        (("path", "agent_id"), "agent_id"),
        (("body", "weights", 0, "value"), "weights.0.value"),
        (("body",), "body"),
        ((), "request"),
    ],
)
def test_field_name_drops_the_location(loc, expected):
    assert field_name(loc) == expected


def test_field_errors_keep_the_message_and_drop_the_input():
    errors = [{"loc": ("query", "q"), "msg": "String should have at most 64 characters", "input": "x" * 65}]
    assert field_errors(errors) == [FieldError(field="q", message="String should have at most 64 characters")]
