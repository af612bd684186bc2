"""One module per log format. Every :class:`~extractscan.ingest.base.Reader` subclass defined in a module
of this package is registered automatically (see :mod:`extractscan.ingest.registry`)."""
