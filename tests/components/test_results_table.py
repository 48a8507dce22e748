from components.aws_context import AwsContext
from components.results_table import ResultsTable
from tests.stack_inspection import ACCOUNT, REGION, only, run_components

CONTEXT = AwsContext("aws", REGION, ACCOUNT)


def test_table_is_on_demand_encrypted_recoverable_and_keyed_by_city_and_time():
    tables = []
    run = run_components(
        lambda: tables.append(ResultsTable("results", {"context": CONTEXT, "table_name": "readings"})),
        first_preview=True,
    )
    table = only(run, "aws:dynamodb/table:Table")

    assert table.inputs["name"] == "readings"
    assert table.inputs["billingMode"] == "PAY_PER_REQUEST"
    assert (table.inputs["hashKey"], table.inputs["rangeKey"]) == ("city", "observed_at")
    assert table.inputs["attributes"] == [{"name": "city", "type": "S"}, {"name": "observed_at", "type": "S"}]
    assert table.inputs["pointInTimeRecovery"] == {"enabled": True}
    assert table.inputs["serverSideEncryption"] == {"enabled": True}
    assert table.inputs["deletionProtectionEnabled"] is True
    assert tables[0].known_arn == f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/readings"


def test_deletion_protection_can_be_switched_off_for_dev():
    run = run_components(
        lambda: ResultsTable("results", {"context": CONTEXT, "table_name": "r", "deletion_protection": False})
    )

    assert only(run, "aws:dynamodb/table:Table").inputs["deletionProtectionEnabled"] is False
