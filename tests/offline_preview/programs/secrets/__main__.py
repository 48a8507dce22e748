"""Secrets in every place a preview could show them: an export, a string input, a tag, a policy document, and one
built from a value unknown at preview (the RandomPassword -> database password pattern)."""

import json

import pulumi
import pulumi_aws as aws

# Built from pieces so that no literal in the repository looks like a credential.
password = pulumi.Output.secret("hunter" + "2-" + "sekrit")
bucket = aws.s3.Bucket("data")
# Unknown at a first preview (the bucket's ARN is computed), and secret.
unknown_secret: pulumi.Output[str] = pulumi.Output.secret(bucket.arn.apply(lambda arn: arn + "/password"))

aws.ssm.Parameter("password", type="SecureString", value=password)
aws.ssm.Parameter("derived", type="SecureString", value=unknown_secret)
aws.ssm.Parameter("tagged", type="String", value=pulumi.Output.concat("x-", password), tags={"pw": password})
aws.iam.Policy(
    "with-secret",
    policy=password.apply(
        lambda pw: json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{pw}/*"}],
            }
        )
    ),
)
# A plain input the provider declares a secret output (additional_secret_outputs=["password", ...]).
database = aws.rds.Instance(
    "db",
    engine="postgres",
    instance_class="db.t3.micro",
    allocated_storage=20,
    username="app",
    password="plain" + "-text-" + "input",
    skip_final_snapshot=True,
)
# An output the provider computes and declares secret: unknown at preview, and secret (RandomPassword's `result`).
access_key = aws.iam.AccessKey("deploy", user="deployer")
pulumi.export("pw", password)
pulumi.export("accessKeySecret", access_key.secret)
pulumi.export("dbPassword", database.password)
pulumi.export("derived", unknown_secret)
pulumi.export("nested", {"inner": password, "plain": "visible"})
pulumi.export("bucket", bucket.bucket)
