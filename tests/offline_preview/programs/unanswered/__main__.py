import pulumi
import pulumi_aws as aws

instance = aws.ec2.get_instance(instance_id="i-0123456789abcdef0")
pulumi.export("privateIp", instance.private_ip)
