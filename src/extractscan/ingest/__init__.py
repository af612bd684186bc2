"""Ingest: real log formats -> the canonical schema -> the Parquet store."""
