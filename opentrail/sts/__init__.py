"""AWS STS: temporary credentials (:mod:`.sessions`) and the key-id arithmetic STS answers with
(:mod:`.key_ids`). The wire layer is :mod:`opentrail.api.sts_operations` / ``sts_handlers``."""
