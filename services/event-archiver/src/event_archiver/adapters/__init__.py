"""The archiver's SQS queue and S3 store, behind the ports in event_archiver.ports."""
