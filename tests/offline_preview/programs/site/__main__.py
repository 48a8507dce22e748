import mimetypes
import os

import pulumi
import pulumi_aws as aws

bucket = aws.s3.Bucket("site", bucket="offline-preview-site")
for file in sorted(os.listdir("www")):
    path = os.path.join("www", file)
    aws.s3.BucketObject(
        file,
        bucket=bucket.id,
        key=file,
        source=pulumi.FileAsset(path),
        content_type=mimetypes.guess_type(path)[0],
    )
with open("www/index.html", encoding="utf-8") as page:
    pulumi.export("heading", page.read().strip())
