"""An S3 bucket that can never be made public: the bucket and its public-access block, as the trail's log files and
the Config recorder's history both need them. Encryption, versioning and lifecycle differ and stay with each caller."""

import pulumi
import pulumi_aws as aws


def create_private_bucket(name: str, bucket_name: str, opts: pulumi.ResourceOptions) -> aws.s3.Bucket:
    """`{name}-bucket` named `bucket_name` (kept on destroy: force_destroy off), and `{name}-bucket-public-access`
    blocking public ACLs and policies, both with `opts` (the caller's parent)."""
    bucket = aws.s3.Bucket(f"{name}-bucket", bucket=bucket_name, force_destroy=False, opts=opts)
    aws.s3.BucketPublicAccessBlock(
        f"{name}-bucket-public-access",
        bucket=bucket.bucket,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
        opts=opts,
    )
    return bucket
