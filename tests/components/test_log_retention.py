import pytest

from components.log_retention import CLOUDWATCH_RETENTION_DAYS, require_valid_retention


@pytest.mark.parametrize("days", [1, 14, 90, 3653])
def test_accepted_retentions_pass_through(days):
    assert require_valid_retention(days, setting="logRetentionDays") == days


@pytest.mark.parametrize(
    ("days", "expected"),
    [
        (10, "does not accept a retention of 10 days (nearest allowed: 7, 14)"),
        (0, "does not accept a retention of 0 days (nearest allowed: 1)"),
        (9999, "does not accept a retention of 9999 days (nearest allowed: 3653)"),
        (True, "does not accept a retention of True days"),
    ],
)
def test_rejected_retentions_name_the_setting_and_the_nearest_values(days, expected):
    with pytest.raises(ValueError, match="logRetentionDays") as caught:
        require_valid_retention(days, setting="logRetentionDays")

    assert expected in str(caught.value)


def test_the_list_is_sorted_and_has_no_duplicates():
    assert list(CLOUDWATCH_RETENTION_DAYS) == sorted(set(CLOUDWATCH_RETENTION_DAYS))
