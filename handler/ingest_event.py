"""The invocation event: which cities to ingest."""

from __future__ import annotations

from collections.abc import Mapping

from exceptions import InvalidEventError

DEFAULT_CITY = "Seville"
MAX_CITIES = 25
# DynamoDB allows 2 KB for a partition key; no city name comes close to this.
MAX_CITY_LENGTH = 128
_FIELDS = frozenset({"city", "cities"})


def cities_from_event(event: object) -> tuple[str, ...]:
    """The cities an event asks for, in order and without repeats; InvalidEventError says what is wrong."""
    if not isinstance(event, Mapping):
        raise InvalidEventError("event must be a JSON object")
    unexpected = sorted(str(name) for name in event.keys() - _FIELDS)
    if unexpected:
        raise InvalidEventError(f"unexpected field(s) {', '.join(unexpected)}: expected city or cities")
    if "city" in event and "cities" in event:
        raise InvalidEventError("give either city or cities, not both")
    if "cities" in event:
        return _cities(event["cities"])
    return (_city(event.get("city", DEFAULT_CITY), "city"),)


def _cities(value: object) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise InvalidEventError("cities must be a list of city names")
    if not value:
        raise InvalidEventError("cities must not be empty")
    if len(value) > MAX_CITIES:
        raise InvalidEventError(f"cities holds {len(value)} names; at most {MAX_CITIES} are allowed")
    names = (_city(item, f"cities[{index}]") for index, item in enumerate(value))
    return tuple(dict.fromkeys(names))


def _city(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise InvalidEventError(f"{where} must be a string")
    name = value.strip()
    if not name:
        raise InvalidEventError(f"{where} must not be empty")
    if len(name) > MAX_CITY_LENGTH:
        raise InvalidEventError(f"{where} is longer than {MAX_CITY_LENGTH} characters")
    if not name.isprintable():
        raise InvalidEventError(f"{where} contains control characters")
    return name
