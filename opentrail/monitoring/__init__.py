"""Real-time monitoring: CloudWatch Logs filter patterns, metric filters, metrics and alarms, the
CIS AWS Foundations controls (issue 12). See docs/monitoring.md."""
