"""modreport: reverse-engineer a small transformer trained on a + b mod p.

From Python: ``from reporter import load, analyse, build_site, train`` (see `reporter.api`). They are
imported on first use, so that ``import reporter`` stays quick.
"""

__version__ = "0.1.0"
API = ("load", "analyse", "build_site", "train")


def __getattr__(name: str):
    if name in API:
        from reporter import api

        return getattr(api, name)
    raise AttributeError(f"module 'reporter' has no attribute {name!r}")


__all__ = ["__version__", *API]
