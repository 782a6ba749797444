"""The real-Flink tier: a package, so that its conftest is ``realflink.conftest`` and never shadows ``tests/conftest.py``."""
