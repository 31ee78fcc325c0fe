"""Audit middleware: a CloudTrail record for every request of a web application.

- :class:`opentrail.middleware.asgi.AuditMiddleware` (Starlette, FastAPI, any ASGI app)
- :class:`opentrail.middleware.wsgi.AuditMiddleware` (Flask, Django, any WSGI app)

Both hand records to an :class:`opentrail.client.EventClient`; see docs/sdk.md.
"""
