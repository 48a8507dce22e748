"""Marks as `slow` every test that uses a fixture starting a process or a build, so `pytest -m "not slow"` runs the
rest alone (`make unit-fast`). Tests that start such a process themselves carry `@pytest.mark.slow`."""

import pytest

SLOW_FIXTURES = {
    "pack": "the policy pack as its own process, driven over gRPC (tests/policies/conftest.py)",
    "host": "the component package host process (tests/components/test_component_package.py)",
    "preview_json": "an offline preview of a program with the pack (tests/offline_preview/test_real_programs.py)",
    "bundle": "a Lambda bundle build, pip the first time (tests/bundle_builder/test_builder.py)",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if SLOW_FIXTURES.keys() & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
