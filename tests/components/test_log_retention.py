import pytest

from components.log_retention import CLOUDWATCH_RETENTION_DAYS, require_valid_retention

# PutRetentionPolicy's retentionInDays: "Valid values are: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545,
# 731, 1096, 1827, 2192, 2557, 2922, 3288, and 3653"
# (https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutRetentionPolicy.html).
DOCUMENTED = "1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653"


@pytest.mark.parametrize("days", [1, 14, 90, 3653])
def test_accepted_retentions_pass_through(days):
    assert require_valid_retention(days, setting="logRetentionDays") == days


@pytest.mark.parametrize(
    ("days", "nearest"),
    [(10, "7, 14"), (0, "1"), (9999, "3653")],
)
def test_rejected_retentions_name_the_setting_and_the_nearest_values(days, nearest):
    with pytest.raises(ValueError, match="logRetentionDays") as caught:
        require_valid_retention(days, setting="logRetentionDays")

    assert str(caught.value) == (
        f"logRetentionDays: CloudWatch Logs does not accept a retention of {days} days (nearest allowed: {nearest}); "
        f"allowed values are {DOCUMENTED}"
    )


def test_a_boolean_is_not_a_retention():
    with pytest.raises(
        ValueError, match=r"^logRetentionDays: CloudWatch Logs does not accept a retention of True days"
    ):
        require_valid_retention(True, setting="logRetentionDays")


def test_the_list_is_the_documented_one():
    assert ", ".join(str(days) for days in CLOUDWATCH_RETENTION_DAYS) == DOCUMENTED
