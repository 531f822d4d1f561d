"""Benchmarks of Trunkline (not shipped with the package; run them as ``python -m bench...``)."""
