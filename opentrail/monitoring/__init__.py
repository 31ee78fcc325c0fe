"""CloudWatch metrics and alarms, the domain half (no HTTP): the durable metric store
(:mod:`.metric_store`, its data shapes in :mod:`.metric_data`), statistics (:mod:`.statistics`), the alarm evaluator (:mod:`.alarm_eval`)
and its state reasons (:mod:`.alarm_reason`), PutMetricAlarm's validation (:mod:`.alarm_validation`),
the SNS and EventBridge messages an alarm sends (:mod:`.alarm_message`) and the errors, named after
the wire (:mod:`.errors`). The CloudWatch API layer calls these."""
