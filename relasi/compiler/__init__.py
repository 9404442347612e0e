"""The query compiler: a GraphQL read becomes one SQL statement that returns the whole `data`
JSON, built by PostgreSQL (json_build_object / json_agg over correlated subqueries, keyset pages
and cursors in SQL), run on the request's Session and sent as PostgreSQL's text.

- `plan.py`: the validated document + the storage mapping (`resolvers/model.py`) -> a plan;
  what it does not cover raises `Unsupported` and that root field runs through the
  resolvers, which stay the reference the compiled path is tested against.
- `mixed.py`: the root fields left to the resolvers, merged with the compiled ones.
- `nodes.py`: the plan's nodes, which write the SQL of each field for one request's arguments.
- `values.py`: scalars, ids, cursors and masks printed exactly as the resolver path prints them.
- per domain, what the storage mapping does not say: `timelines.py`, `journeys.py`,
  `caller.py` (`me`), `segments.py`, `changes.py`, `webhooks.py` (with `forward.py`, the
  forward-only pages) and `introspection.py`.
- `run.py`: the plan cache and the schema extension that answers a query compiled.
"""

from relasi.compiler.run import READ_PATHS, CompiledReads, encode_response

__all__ = ["READ_PATHS", "CompiledReads", "encode_response"]
