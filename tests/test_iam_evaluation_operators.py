"""The evaluator's negated operators, Null and Principal, against the IAM user guide's own statements.

Source: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
("Negated matching condition operators": a key absent from the request makes them true; "Condition operator to
check existence of condition keys": `Null` true means the key is absent) and
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html.
"""

from collections.abc import Mapping

from tests.iam_evaluation import Request, evaluate

TABLE = "arn:aws:dynamodb:eu-west-1:111122223333:table/readings"
ROLE = "arn:aws:iam::111122223333:role/app"
ALLOW: dict[str, object] = {"Effect": "Allow", "Action": "dynamodb:BatchWriteItem", "Resource": TABLE}


def deny(condition: dict[str, dict[str, str]]) -> dict[str, object]:
    return {"Effect": "Deny", "Action": "dynamodb:BatchWriteItem", "Resource": TABLE, "Condition": condition}


def decide(*statements: Mapping[str, object], principal: str = ROLE, **context: str) -> str:
    request = Request(
        "dynamodb:BatchWriteItem", TABLE, {k.replace("__", ":"): v for k, v in context.items()}, principal
    )
    return evaluate([{"Statement": list(statements)}], request)


def test_a_negated_operator_holds_when_the_key_is_absent_and_when_it_differs():
    not_endpoint = deny({"StringNotEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}})

    assert decide(ALLOW, not_endpoint) == "explicit-deny"
    assert decide(ALLOW, not_endpoint, aws__SourceVpce="vpce-99999999") == "explicit-deny"
    assert decide(ALLOW, not_endpoint, aws__SourceVpce="vpce-1a2b3c4d") == "allow"


def test_arn_not_equals_is_negated_the_same_way():
    not_function = deny(
        {"ArnNotEquals": {"lambda:SourceFunctionArn": "arn:aws:lambda:eu-west-1:111122223333:function:f"}}
    )

    assert decide(ALLOW, not_function) == "explicit-deny"
    assert decide(
        ALLOW, not_function, lambda__SourceFunctionArn="arn:aws:lambda:eu-west-1:111122223333:function:f"
    ) == ("allow")


def test_null_true_holds_only_when_the_key_is_absent():
    no_endpoint = deny({"Null": {"aws:SourceVpce": "true"}})

    assert decide(ALLOW, no_endpoint) == "explicit-deny"
    assert decide(ALLOW, no_endpoint, aws__SourceVpce="vpce-1a2b3c4d") == "allow"


def test_a_statement_with_a_principal_applies_only_to_that_principal_or_to_everyone_with_star():
    to_role = {**ALLOW, "Principal": {"AWS": ROLE}}

    assert decide(to_role) == "allow"
    assert decide(to_role, principal="arn:aws:iam::111122223333:role/other") == "implicit-deny"
    assert decide({**deny({}), "Principal": "*"}, principal="arn:aws:iam::444455556666:role/x") == "explicit-deny"
