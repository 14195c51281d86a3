"""Two S3 bucket reads answered the way AWS documents them.

- GetBucketVersioning: moto serializes the answer under the root element
  `GetBucketVersioningResponse`; S3 (API Reference, GetBucketVersioning)
  answers `<VersioningConfiguration>` with an optional `<Status>`. boto3
  reads either, the Rust SDK only the documented one.
- GetBucketEncryption: moto answers 404
  `ServerSideEncryptionConfigurationNotFoundError` for a bucket never
  configured. Since January 2023 every bucket is encrypted with SSE-S3 by
  default and S3 answers that configuration (S3 User Guide, "Setting
  default server-side encryption behavior for Amazon S3 buckets"); a
  `DeleteBucketEncryption` returns the bucket to it.

provision reads both for managed buckets (`manage_buckets`).
"""

from moto.s3.responses import S3Response

_XMLNS = "http://s3.amazonaws.com/doc/2006-03-01/"


def get_bucket_versioning(self):
    status = self.backend.get_bucket_versioning(self.bucket_name)
    inner = f"<Status>{status}</Status>" if status else ""
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<VersioningConfiguration xmlns="{_XMLNS}">{inner}</VersioningConfiguration>'
    )
    return 200, {"Content-Type": "application/xml"}, body


S3Response.get_bucket_versioning = get_bucket_versioning

_original_get_bucket_encryption = S3Response.get_bucket_encryption


def get_bucket_encryption(self):
    if self.backend.get_bucket_encryption(self.bucket_name):
        return _original_get_bucket_encryption(self)
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<ServerSideEncryptionConfiguration xmlns="{_XMLNS}"><Rule>'
        "<ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256</SSEAlgorithm>"
        "</ApplyServerSideEncryptionByDefault><BucketKeyEnabled>false</BucketKeyEnabled>"
        "</Rule></ServerSideEncryptionConfiguration>"
    )
    return 200, {"Content-Type": "application/xml"}, body


S3Response.get_bucket_encryption = get_bucket_encryption
