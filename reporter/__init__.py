"""modreport: reverse-engineer a small transformer trained on a + b mod p."""

__version__ = "0.1.0"
