"""Read claim-checked todo snapshots from S3: one GetObject per job, nothing else."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from ical_worker.domain import InvalidSnapshot
from taskoverflow_shared.events import S3ObjectRef

# S3 answers NoSuchKey for a missing object; moto and LocalStack agree. A missing bucket is just
# as final for this reference.
_GONE = {"NoSuchKey", "NoSuchBucket"}


@dataclass
class S3SnapshotReader:
    s3: Any

    def read(self, ref: S3ObjectRef) -> bytes:
        try:
            response = self.s3.get_object(Bucket=ref.bucket, Key=ref.key)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in _GONE:
                raise InvalidSnapshot(f"snapshot s3://{ref.bucket}/{ref.key} does not exist") from error
            raise
        return response["Body"].read()
