"""The event archiver: keeps every event published to the topic, durably, in S3.

The format of the archive lives in taskoverflow_shared.event_archive, shared with its readers.
"""
