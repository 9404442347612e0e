"""Relasi: a headless CRM backend, a GraphQL API over a graph-shaped customer store."""

__version__ = "0.1.0"
