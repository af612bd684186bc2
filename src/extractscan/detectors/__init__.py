"""Detectors: one file per signal of extraction. See :mod:`extractscan.detectors.base` for the contract
and :mod:`extractscan.detectors.registry` for discovery."""
