"""Real-time monitoring: CloudWatch Logs filter patterns (:mod:`.filter_pattern`), and later log
groups, metric filters, metrics and alarms."""
