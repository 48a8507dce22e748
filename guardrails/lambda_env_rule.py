"""AWS Config custom rule: credentials in a Lambda function's environment variables, judged by keyless-guard's code.

Config invokes this function with an event whose `invokingEvent` (a JSON string) is one of
(https://docs.aws.amazon.com/config/latest/developerguide/evaluate-config_develop-rules_example-events.html):

- `ConfigurationItemChangeNotification`: a `configurationItem` for one function (status `OK`, `ResourceDiscovered`,
  `ResourceDeleted` or `ResourceDeletedNotRecorded`);
- `OversizedConfigurationItemChangeNotification`: a `configurationItemSummary` without the configuration;
- `ScheduledNotification`: the periodic trigger, with no resource.

The judgement is `keyless_guard.env_values.variable_problems`, the function behind the pack's
`lambda-env-no-credentials`, shipped unchanged in this function's bundle (bundle_builder copies the pack's modules),
so a preview and the running account judge a variable alike. The rule watches the functions named in its
`functionNames` parameter: it reads their configuration itself when the item does not carry the variables (an
oversized item, the periodic run), and reports `NOT_APPLICABLE` for any other function and for a deleted one.

Never logged, returned or raised: a variable's value and the invoking event (its configuration item holds the values).
An annotation names the variable and the reason, within Config's 256 characters.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from botocore.exceptions import BotoCoreError, ClientError

from keyless_guard.env_values import describe, variable_problems

COMPLIANT: Final = "COMPLIANT"
NON_COMPLIANT: Final = "NON_COMPLIANT"
NOT_APPLICABLE: Final = "NOT_APPLICABLE"
FUNCTION_TYPE: Final = "AWS::Lambda::Function"
MAX_ANNOTATION: Final = 256
"""PutEvaluations' Evaluation.Annotation: 1 to 256 characters
(https://docs.aws.amazon.com/config/latest/APIReference/API_Evaluation.html)."""
MAX_EVALUATIONS_PER_CALL: Final = 100
"""PutEvaluations accepts at most 100 evaluations a call (API_PutEvaluations.html, Evaluations: 0-100 items)."""
THROTTLING_CODES: Final = frozenset(
    {"ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded"}
)
MAX_ATTEMPTS: Final = 5
DELETED_STATUSES: Final = frozenset({"ResourceDeleted", "ResourceDeletedNotRecorded"})
COMPLIANT_ANNOTATION: Final = "No environment variable holds a credential (keyless-guard lambda-env-no-credentials)."

logger = logging.getLogger("lambda_env_rule")
logger.setLevel(logging.INFO)


class RuleEventError(ValueError):
    """The invoking event does not have the shape Config documents; the message names the missing field only."""


def evaluate_variables(variables: Mapping[str, object] | None) -> tuple[str, str]:
    """(compliance type, annotation) for one function's environment variables. The annotation names the first
    variable at fault and why, counts the others, and never includes a value."""
    findings = [
        describe(f"environment variable {name}", problem)
        for name in sorted(variables or {})
        for problem in variable_problems(name, (variables or {})[name])
    ]
    if not findings:
        return COMPLIANT, COMPLIANT_ANNOTATION
    more = f" (+{len(findings) - 1} more)" if len(findings) > 1 else ""
    return NON_COMPLIANT, _fit(findings[0], more)


def _fit(text: str, suffix: str = "") -> str:
    """Cut to Config's annotation limit, keeping the suffix."""
    room = MAX_ANNOTATION - len(suffix)
    return (text if len(text) <= room else text[: room - 3] + "...") + suffix


@dataclass(frozen=True)
class Evaluation:
    resource_id: str
    compliance_type: str
    annotation: str
    ordering_timestamp: datetime

    def to_api(self) -> dict[str, Any]:
        return {
            "ComplianceResourceType": FUNCTION_TYPE,
            "ComplianceResourceId": self.resource_id,
            "ComplianceType": self.compliance_type,
            "Annotation": self.annotation,
            "OrderingTimestamp": self.ordering_timestamp,
        }


class LambdaEnvRule:
    """Evaluates one invoking event and reports the evaluations. Clients are injected (tests pass stubbed ones)."""

    def __init__(self, config_client: Any, lambda_client: Any, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self._config = config_client
        self._lambda = lambda_client
        self._sleep = sleep

    def handle(self, event: Mapping[str, Any]) -> list[Evaluation]:
        invoking = _json_field(event, "invokingEvent")
        parameters = _json_field(event, "ruleParameters") if event.get("ruleParameters") else {}
        watched = _watched_functions(parameters)
        result_token = event.get("resultToken")
        if not isinstance(result_token, str) or not result_token:
            raise RuleEventError("the event has no resultToken")
        message_type = invoking.get("messageType")
        if message_type == "ScheduledNotification":
            evaluations = self._periodic(watched, _timestamp(invoking, "notificationCreationTime"))
        elif message_type == "ConfigurationItemChangeNotification":
            item = _dict_field(invoking, "configurationItem")
            evaluations = [self._changed(item, watched, left_scope=bool(event.get("eventLeftScope")))]
        elif message_type == "OversizedConfigurationItemChangeNotification":
            summary = _dict_field(invoking, "configurationItemSummary")
            evaluations = [self._changed(summary, watched, left_scope=bool(event.get("eventLeftScope")))]
        else:
            raise RuleEventError(f"unsupported messageType {str(message_type)[:64]!r}")
        self._report(evaluations, result_token)
        return evaluations

    def _changed(self, item: Mapping[str, Any], watched: frozenset[str], *, left_scope: bool) -> Evaluation:
        resource_id = _string_field(item, "resourceId")
        name = str(item.get("resourceName") or resource_id)
        captured = _timestamp(item, "configurationItemCaptureTime")
        if item.get("resourceType") != FUNCTION_TYPE:
            return Evaluation(resource_id, NOT_APPLICABLE, "Not a Lambda function.", captured)
        if left_scope or item.get("configurationItemStatus") in DELETED_STATUSES:
            return Evaluation(
                resource_id, NOT_APPLICABLE, "The function was deleted or left the rule's scope.", captured
            )
        if name not in watched:
            return Evaluation(resource_id, NOT_APPLICABLE, "Not a function of this stack (functionNames).", captured)
        variables = _variables_in_item(item)
        if variables is None:
            variables = self._read_variables(name)
            if variables is None:
                return Evaluation(resource_id, NOT_APPLICABLE, "The function no longer exists.", captured)
        return Evaluation(resource_id, *evaluate_variables(variables), captured)

    def _periodic(self, watched: frozenset[str], when: datetime) -> list[Evaluation]:
        evaluations = []
        for name in sorted(watched):
            variables = self._read_variables(name)
            if variables is not None:
                # Config's resource id of a Lambda function is its name.
                evaluations.append(Evaluation(name, *evaluate_variables(variables), when))
        return evaluations

    def _read_variables(self, name: str) -> Mapping[str, object] | None:
        """The function's variables from Lambda; None when the function does not exist."""
        try:
            configuration = self._lambda.get_function_configuration(FunctionName=name)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                return None
            raise
        variables = (configuration.get("Environment") or {}).get("Variables") or {}
        return dict(variables)

    def _report(self, evaluations: list[Evaluation], result_token: str) -> None:
        for start in range(0, max(len(evaluations), 1), MAX_EVALUATIONS_PER_CALL):
            batch = evaluations[start : start + MAX_EVALUATIONS_PER_CALL]
            self._put_with_retry([evaluation.to_api() for evaluation in batch], result_token)
        for evaluation in evaluations:
            logger.info(
                "evaluation resource=%s compliance=%s annotation=%s",
                evaluation.resource_id,
                evaluation.compliance_type,
                evaluation.annotation,
            )

    def _put_with_retry(self, evaluations: list[dict[str, Any]], result_token: str) -> None:
        """PutEvaluations, retried with exponential backoff on throttling (Config's API throttles per account)."""
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                response = self._config.put_evaluations(Evaluations=evaluations, ResultToken=result_token)
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code", "")
                if code not in THROTTLING_CODES or attempt == MAX_ATTEMPTS:
                    raise
                delay = min(0.2 * 2 ** (attempt - 1), 5.0)
                logger.warning("PutEvaluations throttled (%s), attempt %d, retrying in %.1f s", code, attempt, delay)
                self._sleep(delay)
                continue
            failed = response.get("FailedEvaluations") or []
            if failed:
                raise RuleEventError(f"Config rejected {len(failed)} evaluation(s)")
            return


def _watched_functions(parameters: Mapping[str, Any]) -> frozenset[str]:
    value = parameters.get("functionNames")
    if not isinstance(value, str) or not value.strip():
        raise RuleEventError("ruleParameters has no functionNames (comma-separated function names)")
    return frozenset(name.strip() for name in value.split(",") if name.strip())


def _variables_in_item(item: Mapping[str, Any]) -> Mapping[str, object] | None:
    """The variables a configuration item carries, or None when it does not carry them (an oversized item's
    summary has no configuration; a function with no environment is recorded with `environment` empty or absent,
    and then Lambda is asked, which costs one call and settles it)."""
    configuration = item.get("configuration")
    if not isinstance(configuration, Mapping):
        return None
    environment = configuration.get("environment")
    if not isinstance(environment, Mapping):
        return None
    variables = environment.get("variables")
    return variables if isinstance(variables, Mapping) else None


def _json_field(event: Mapping[str, Any], name: str) -> dict[str, Any]:
    raw = event.get(name)
    if not isinstance(raw, str):
        raise RuleEventError(f"the event's {name} is not a JSON string")
    try:
        value = json.loads(raw)
    except ValueError:
        # The parser's message quotes the document; the document holds the configuration's values.
        raise RuleEventError(f"the event's {name} is not valid JSON") from None
    if not isinstance(value, dict):
        raise RuleEventError(f"the event's {name} is not a JSON object")
    return value


def _dict_field(container: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = container.get(name)
    if not isinstance(value, Mapping):
        raise RuleEventError(f"invokingEvent has no {name}")
    return value


def _string_field(container: Mapping[str, Any], name: str) -> str:
    value = container.get(name)
    if not isinstance(value, str) or not value:
        raise RuleEventError(f"the configuration item has no {name}")
    return value


def _timestamp(container: Mapping[str, Any], name: str) -> datetime:
    value = container.get(name)
    if not isinstance(value, str):
        raise RuleEventError(f"the event has no {name}")
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        raise RuleEventError(f"the event's {name} is not an ISO 8601 time") from None


_default_rule: LambdaEnvRule | None = None


def _rule() -> LambdaEnvRule:
    # One set of clients per execution environment, built on first use.
    global _default_rule
    if _default_rule is None:
        import boto3  # the Lambda runtime provides it
        from botocore.config import Config

        # Our own loop retries throttled PutEvaluations; botocore's retries stay on for the other errors.
        settings = Config(connect_timeout=5, read_timeout=10, retries={"mode": "standard", "max_attempts": 3})
        _default_rule = LambdaEnvRule(boto3.client("config", config=settings), boto3.client("lambda", config=settings))
    return _default_rule


def lambda_handler(event: Mapping[str, Any], context: object) -> dict[str, Any]:
    """Config's entry point (handler string `lambda_env_rule.lambda_handler`)."""
    try:
        evaluations = _rule().handle(event)
    except (ClientError, BotoCoreError) as exc:
        # botocore's messages carry the operation and code, never a request body.
        logger.error("AWS call failed: %s", exc)
        raise
    return {"evaluations": [{"resource": e.resource_id, "compliance": e.compliance_type} for e in evaluations]}
