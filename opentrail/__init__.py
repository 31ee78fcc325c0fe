"""opentrail: AWS CloudTrail, self-hosted."""

__version__ = "0.1.0"
