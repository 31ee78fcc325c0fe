"""Event storage behind one interface (see :mod:`opentrail.store.base`)."""
