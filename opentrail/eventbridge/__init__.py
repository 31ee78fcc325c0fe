"""Amazon EventBridge on opentrail: rules with event patterns on the default event bus, their
targets, connections and API destinations (the control plane, :mod:`.rules_service`), the bus that
follows the durable event log and matches every event against every rule (:mod:`.bus`), and the
dispatchers that deliver matched events to targets (:mod:`.dispatch`). The shapes both halves share
are in :mod:`.model`; the event-pattern language is :mod:`.pattern`.
"""
