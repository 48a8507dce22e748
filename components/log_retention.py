"""The retention periods CloudWatch Logs accepts.

From the `retentionInDays` parameter of PutRetentionPolicy:
https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutRetentionPolicy.html
botocore's service model declares the field as a plain integer, so the list cannot be read from it.
"""

from __future__ import annotations

CLOUDWATCH_RETENTION_DAYS: tuple[int, ...] = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
)  # fmt: skip


def require_valid_retention(days: int, *, setting: str) -> int:
    """Return `days` if CloudWatch accepts it; otherwise raise naming the setting and the nearest values."""
    if isinstance(days, bool) or not isinstance(days, int) or days not in CLOUDWATCH_RETENTION_DAYS:
        lower = max((d for d in CLOUDWATCH_RETENTION_DAYS if isinstance(days, int) and d < days), default=None)
        higher = min((d for d in CLOUDWATCH_RETENTION_DAYS if isinstance(days, int) and d > days), default=None)
        nearest = ", ".join(str(d) for d in (lower, higher) if d is not None)
        raise ValueError(
            f"{setting}: CloudWatch Logs does not accept a retention of {days!r} days"
            + (f" (nearest allowed: {nearest})" if nearest else "")
            + f"; allowed values are {', '.join(map(str, CLOUDWATCH_RETENTION_DAYS))}"
        )
    return days
