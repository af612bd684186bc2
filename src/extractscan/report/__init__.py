"""Report writers: one module per format, each a pure function over the same :class:`ScanResult`."""
