"""Behaviour: queries, mutations, SQL and DataLoaders per domain. Imports no strawberry types."""
