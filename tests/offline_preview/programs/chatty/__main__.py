import pulumi
import pulumi_aws as aws

print("building the topic")
pulumi.log.warn("the topic has no subscription")
topic = aws.sns.Topic("alerts", name="offline-alerts")
topic.arn.apply(lambda arn: print(f"topic arn: {arn}"))
