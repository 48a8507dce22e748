"""The execution role grants exactly what the handler calls.

tests/handler/test_app.py records every botocore operation the handler makes end to end and checks it against
the handler's IAM_ACTIONS; this test ties those constants to what the component grants.
"""

import results_store
import secret_cache
from components.grants import SECRET_READ_ACTIONS, TABLE_WRITE_ACTIONS, secret_read_statement, table_write_statement


def test_table_grant_is_exactly_the_handlers_dynamodb_calls():
    assert TABLE_WRITE_ACTIONS == results_store.IAM_ACTIONS
    statement = table_write_statement(["arn:aws:dynamodb:eu-west-1:111122223333:table/t"])
    assert statement.actions == results_store.IAM_ACTIONS


def test_secret_grant_is_exactly_the_handlers_secrets_manager_calls():
    assert SECRET_READ_ACTIONS == secret_cache.IAM_ACTIONS
    statement = secret_read_statement(["arn:aws:secretsmanager:eu-west-1:111122223333:secret:s-??????"])
    assert statement.actions == secret_cache.IAM_ACTIONS
