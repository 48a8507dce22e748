"""A CI user with a long-lived access key: iam-no-access-keys."""

import pulumi_aws as aws

user = aws.iam.User("ci", name="ci")
aws.iam.AccessKey("ci-key", user=user.name)
