"""Errors the ingest function reports. Messages name what is wrong and never carry a secret value."""

from botocore.exceptions import ClientError


class IngestError(Exception):
    """Base class for every error this function raises on purpose."""


class ConfigurationError(IngestError):
    """A setting is missing or malformed; retrying the invocation will not help."""


class SecretFormatError(ConfigurationError):
    """The secret is not a JSON object with a non-empty string "api_key"."""


class SecretUnavailableError(IngestError):
    """Secrets Manager returned no value and the cache holds none that may still be served."""


class InvalidEventError(IngestError):
    """The invocation event does not have the documented shape."""


class ApiKeyRejectedError(IngestError):
    """The weather API answered 401 or 403 to the key it was sent."""


class WeatherApiError(IngestError):
    """The weather API failed, ran out of time, or answered something this function cannot use."""


class UnstorableReadingError(IngestError):
    """A reading holds a value DynamoDB cannot store (for example a number with more than 38 digits)."""


class ResultsNotWrittenError(IngestError):
    """DynamoDB left items unwritten when the invocation's time ran out or it rejected the write."""


def aws_error_name(exc: Exception) -> str:
    """The error code of an AWS error response, else the exception's type: enough to act on, free of any value."""
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", "ClientError"))
    return type(exc).__name__
