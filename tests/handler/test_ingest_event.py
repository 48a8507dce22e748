"""The invocation event: the accepted shapes and a message for every rejected one."""

from __future__ import annotations

import pytest

from exceptions import InvalidEventError
from ingest_event import MAX_CITIES, cities_from_event


@pytest.mark.parametrize(
    ("event", "cities"),
    [
        ({}, ("Seville",)),
        ({"city": "Madrid"}, ("Madrid",)),
        ({"city": "  Madrid "}, ("Madrid",)),
        ({"cities": ["Madrid"]}, ("Madrid",)),
        ({"cities": ["Madrid", "Seville", "Madrid"]}, ("Madrid", "Seville")),
        ({"cities": [f"City {index}" for index in range(MAX_CITIES)]}, tuple(f"City {i}" for i in range(25))),
    ],
)
def test_accepted_events(event: object, cities: tuple[str, ...]) -> None:
    assert cities_from_event(event) == cities


@pytest.mark.parametrize(
    ("event", "error"),
    [
        (None, "event must be a JSON object"),
        ("Seville", "event must be a JSON object"),
        (["Seville"], "event must be a JSON object"),
        ({"citys": ["Seville"]}, "unexpected field(s) citys: expected city or cities"),
        ({"city": "Seville", "source": "aws.events"}, "unexpected field(s) source: expected city or cities"),
        ({"city": "Seville", "cities": ["Madrid"]}, "give either city or cities, not both"),
        ({"city": None}, "city must be a string"),
        ({"city": 42}, "city must be a string"),
        ({"city": ["Seville"]}, "city must be a string"),
        ({"city": ""}, "city must not be empty"),
        ({"city": "   "}, "city must not be empty"),
        ({"city": "x" * 129}, "city is longer than 128 characters"),
        ({"city": "Sev\nille"}, "city contains control characters"),
        ({"cities": "Seville"}, "cities must be a list of city names"),
        ({"cities": []}, "cities must not be empty"),
        ({"cities": ["Seville", ""]}, "cities[1] must not be empty"),
        ({"cities": ["Seville", 7]}, "cities[1] must be a string"),
        ({"cities": ["City"] * 26}, "cities holds 26 names; at most 25 are allowed"),
    ],
)
def test_rejected_events_say_what_is_wrong(event: object, error: str) -> None:
    with pytest.raises(InvalidEventError) as raised:
        cities_from_event(event)

    assert str(raised.value) == error
