import sys

import greeting  # type: ignore[import-not-found]  # only in this program's own virtualenv
import pulumi
import pulumi_aws as aws

print(greeting.HELLO)
topic = aws.sns.Topic("greetings", name=greeting.HELLO)
pulumi.export("prefix", sys.prefix)
pulumi.export("topicName", topic.name)
