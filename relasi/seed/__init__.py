"""Data sets to start from: `seed_demo` builds the demo workspace."""

from relasi.seed.demo import seed_demo

__all__ = ["seed_demo"]
