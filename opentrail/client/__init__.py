"""Clients for opentrail's own endpoints (the CloudTrail API itself is used through boto3)."""
