import pulumi_aws as aws

print("building the topic")
topic = aws.sns.Topic("alerts", name="offline-alerts")
topic.arn.apply(lambda arn: print(f"topic arn: {arn}"))
