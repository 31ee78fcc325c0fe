"""The capture proxy (``opentrail proxy``): forwards AWS API calls to any AWS-compatible endpoint
unchanged and records each as the CloudTrail event AWS would have written. See docs/proxy.md.

Modules: :mod:`.forward` (ASGI forwarding, streaming), :mod:`.capture` (what was seen),
:mod:`.models` and :mod:`.resolve` (operation from the botocore models), :mod:`.params` and
:mod:`.values` (requestParameters), :mod:`.responses` (botocore's response parsers),
:mod:`.s3` and :mod:`.conventions` (CloudTrail's per-service conventions), :mod:`.identity`,
:mod:`.record` (the record), :mod:`.pipeline` (to the EventClient), :mod:`.runner` and
:mod:`.command` (the CLI).
"""
