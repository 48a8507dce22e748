"""The filter-pattern evaluator against the documented examples of AWS's filter-pattern syntax page.

Every event and pattern below is copied from "Filter and Pattern Syntax", section "Matching Terms in JSON Log
Events": https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html
(awsdocs/amazon-cloudwatch-logs-user-guide, doc_source/FilterAndPatternSyntax.md), with the verdict the page gives.
"""

import json

import pytest

from access_report.filter_pattern import FilterPattern, FilterPatternError, matches

JSON_EXAMPLE = {
    "eventType": "UpdateTrail",
    "sourceIPAddress": "111.111.111.111",
    "arrayKey": ["value", "another value"],
    "objectList": [{"name": "a", "id": 1}, {"name": "b", "id": 2}],
    "SomeObject": None,
    "ThisFlag": True,
}

COMPOUND_EXAMPLE = {
    "user": {"id": 1, "email": "John.Stiles@example.com"},
    "users": [{"id": 2, "email": "John.Doe@example.com"}, {"id": 3, "email": "Jane.Doe@example.com"}],
    "actions": ["GET", "PUT", "DELETE"],
    "coordinates": [[0, 1, 2], [4, 5, 6], [7, 8, 9]],
}


@pytest.mark.parametrize(
    "pattern",
    [
        '{ $.eventType = "UpdateTrail" }',
        "{ $.sourceIPAddress != 123.123.* }",
        '{ $.arrayKey[0] = "value" }',
        "{ $.objectList[1].id = 2 }",
        "{ $.SomeObject IS NULL }",
        "{ $.SomeOtherObject NOT EXISTS }",
        "{ $.ThisFlag IS TRUE }",
    ],
)
def test_the_documented_filters_that_match_the_json_example(pattern):
    # The page: "The following filters would match". The event is passed as one line, as the console needs it.
    assert matches(pattern, json.dumps(JSON_EXAMPLE))


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ('{ ($.user.id = 1) && ($.users[0].email = "John.Doe@example.com") }', True),
        ('{ ($.user.id = 2 && $.users[0].email = "nonmatch") || $.actions[2] = "GET" }', False),
        (
            '{ $.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = nonmatch && $.actions[2] = nomatch }',
            True,
        ),
        (
            '{ ($.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = nonmatch) '
            "&& $.actions[2] = nomatch }",
            False,
        ),
    ],
)
def test_the_documented_compound_conditions_and_their_precedence(pattern, expected):
    """ "() > && > ||": the third pattern matches through its first term, the fourth fails on its last."""
    assert matches(pattern, COMPOUND_EXAMPLE) is expected


@pytest.mark.parametrize(
    ("pattern", "matching"),
    [("{$.foo = bar}", [1]), ("{$.foo = baz }", [2]), ("{$.foo = bar || $.foo = baz }", [1, 2])],
)
def test_the_documented_or_pattern_matching(pattern, matching):
    events = {1: '{"foo": "bar"}', 2: '{"foo": "baz"}'}

    assert [number for number, event in events.items() if matches(pattern, event)] == matching


@pytest.mark.parametrize("pattern", ["{$.users = 1}", "{$.users != 1}"])
def test_a_selector_on_an_array_matches_neither_way(pattern):
    """ "both {$.users = 1} and {$.users != 1} will fail to match a log event where users is an array"."""
    assert not matches(pattern, '{"users": [1, 2, 3]}')


@pytest.mark.parametrize(
    ("value", "expected"),
    [("PutEvent", True), ("GetEvent", True), ("EventId", False)],
)
def test_a_leading_wildcard(value, expected):
    """ "*Event will match PutEvent and GetEvent"."""
    assert matches("{ $.name = *Event }", {"name": value}) is expected


@pytest.mark.parametrize(("value", "expected"), [("EventId", True), ("EventName", True), ("PutEvent", False)])
def test_a_trailing_wildcard(value, expected):
    """ "Event* will match EventId and EventName"."""
    assert matches("{ $.name = Event* }", {"name": value}) is expected


@pytest.mark.parametrize(("value", "expected"), [("Ev*ent", True), ("Event", False), ("EvXent", False)])
def test_a_wildcard_inside_a_value_is_literal(value, expected):
    """ "Ev*ent will only match the actual string Ev*ent"."""
    assert matches('{ $.name = "Ev*ent" }', {"name": value}) is expected


def test_not_equal_on_a_missing_property_is_a_choice_the_caller_makes():
    pattern = FilterPattern.parse('{ $.a.b != "x" }')

    assert not pattern.matches({"c": 1})
    assert pattern.matches({"c": 1}, missing_matches_not_equal=True)
    assert pattern.matches({"a": {"b": "y"}})
    assert not pattern.matches({"a": {"b": "x"}})


def test_an_event_that_is_not_json_matches_nothing():
    assert not matches('{ $.a = "x" }', "[ERROR] not json")


@pytest.mark.parametrize(
    ("pattern", "problem"),
    [
        ('$.a = "x"', "enclosed in { }"),
        ("{ $.latency >= 500 }", "outside the subset"),
        ('{ ($.a = "x" }', "expected rparen"),
        ('{ $.a "x" }', "expected an operator"),
        ('{ $.a = "x" $.b = "y" }', "unexpected"),
    ],
)
def test_syntax_outside_the_subset_or_broken_is_refused(pattern, problem):
    with pytest.raises(FilterPatternError, match=problem):
        FilterPattern.parse(pattern)
