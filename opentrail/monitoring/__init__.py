"""Real-time monitoring: CloudWatch Logs, metric filters, metrics and alarms (issue 12)."""
