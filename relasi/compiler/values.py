"""SQL expressions that print values exactly as the resolver path serialises them.

The compiled statement builds the response JSON in PostgreSQL, so every scalar must come out
as the string Python would have made: `datetime.isoformat()` of asyncpg's UTC datetimes,
`str(Decimal)`, base64url global ids and cursors (`resolvers/global_ids.py`,
`resolvers/pagination.py`), masked personal data (`auth/pii.py`), Money with its
currency's decimals (`relasi/currencies.py`). Expressions are built from trusted names only.
"""

from __future__ import annotations

from relasi.compiler.errors import Unsupported
from relasi.currencies import LEGACY_MINOR_UNITS, MINOR_UNITS


def literal(text: str) -> str:
    """A SQL string literal of trusted text (type names, fingerprints)."""
    return "'" + text.replace("'", "''") + "'"


def timestamp(expr: str) -> str:
    """`datetime.isoformat()` of a timestamptz as asyncpg returns it (UTC, microseconds only
    when not zero)."""
    # one to_char; '.000000' can only be the microseconds
    return (
        f"(replace(to_char(({expr}) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US'),"
        " '.000000', '') || '+00:00')"
    )


def base64url(expr: str) -> str:
    """Unpadded base64url of text (PostgreSQL's base64 also breaks lines: drop them)."""
    return f"rtrim(translate(encode(convert_to({expr}, 'UTF8'), 'base64'), E'+/\\n', '-_'), '=')"


def global_id(type_name: str, pk: str) -> str:
    return base64url(f"{literal(type_name + ':')} || ({pk})::text")


def scalar(expr: str, type_name: str) -> str:
    """A column or expression serialised as the GraphQL scalar or enum `type_name`."""
    if type_name in ("String", "Int", "Boolean", "JSON") or type_name in ENUMS:
        return expr
    if type_name == "DateTime":
        return timestamp(expr)
    if type_name == "Date":
        return f"to_char({expr}, 'YYYY-MM-DD')"
    if type_name == "Decimal":
        return f"({expr})::text"
    # Float (Python's repr is not PostgreSQL's float8 text), other ids, custom scalars
    raise Unsupported(f"scalar {type_name}")


# enums are stored as text exactly as named (resolvers/enums.py); filled by the planner
ENUMS: set[str] = set()


def mask(expr: str, kind: str | None) -> str:
    """`auth.pii.mask_email` / `mask_phone` in SQL."""
    if kind is None:
        return expr
    if kind == "email":
        return (
            f"(left(split_part({expr}, '@', 1), 1) || '***@' || CASE WHEN strpos({expr}, '@') > 0"
            f" THEN substr({expr}, strpos({expr}, '@') + 1) ELSE '' END)"
        )
    head = f"(CASE WHEN left({expr}, 1) = '+' THEN 3 ELSE 0 END)"
    keep = f"(CASE WHEN length({expr}) > 7 THEN 4 ELSE 2 END)"
    return (
        f"(left({expr}, {head}) || repeat('*', greatest(length({expr}) - {head} - {keep}, 0))"
        f" || right({expr}, {keep}))"
    )


def money_amount(amount: str, currency: str) -> str:
    """`Money.amount` as `relasi.currencies.for_output` writes it: the currency's decimals, or
    every stored digit of an amount that has more (rounding to the scale of its trimmed value
    drops only trailing zeros)."""
    return (
        f"round({amount}, greatest({_UNITS.format(c=currency)}, scale(trim_scale({amount}))))::text"
    )


def _units_case() -> str:
    """A currency's decimals as one CASE over IN lists (codes from the ISO table: three capital
    letters), one list per number of decimals: evaluated once per amount, each list a hash
    look-up rather than a comparison per currency."""
    by_units: dict[int, list[str]] = {}
    for code, units in sorted(MINOR_UNITS.items()):
        if units != LEGACY_MINOR_UNITS:
            by_units.setdefault(units, []).append(code)
    cases = " ".join(
        f"WHEN {{c}} IN ({', '.join(literal(code) for code in codes)}) THEN {units}"
        for units, codes in sorted(by_units.items())
    )
    return f"(CASE {cases} ELSE {LEGACY_MINOR_UNITS} END)"


_UNITS = _units_case()


_PLAIN_JSON = "'^[ !#-\\[\\]-~]*$'"  # printable ASCII but " and \\: json.dumps leaves it as is


def python_json_string(expr: str) -> str:
    """`json.dumps(text)` with Python's defaults (ensure_ascii: four-hex-digit \\u escapes, surrogate
    pairs beyond the BMP), for text inside cursors."""
    char = (
        "CASE WHEN ch ~ " + _PLAIN_JSON + " THEN ch"
        " WHEN ch = '\"' THEN '\\\"' WHEN ch = '\\' THEN '\\\\'"
        " WHEN ch = E'\\n' THEN '\\n' WHEN ch = E'\\r' THEN '\\r' WHEN ch = E'\\t' THEN '\\t'"
        " WHEN ch = E'\\b' THEN '\\b' WHEN ch = E'\\f' THEN '\\f'"
        " WHEN ascii(ch) < 65536 THEN '\\u' || lpad(to_hex(ascii(ch)), 4, '0')"
        " ELSE '\\u' || to_hex(55296 + ((ascii(ch) - 65536) >> 10))"
        " || '\\u' || to_hex(56320 + ((ascii(ch) - 65536) & 1023)) END"
    )
    slow = (
        f"(SELECT '\"' || string_agg({char}, '' ORDER BY n) || '\"'"
        f" FROM regexp_split_to_table({expr}, '') WITH ORDINALITY AS s(ch, n))"
    )
    return f"CASE WHEN ({expr}) ~ {_PLAIN_JSON} THEN '\"' || ({expr}) || '\"' ELSE {slow} END"


def cursor(fingerprint: str, keys: list[tuple[str, str]]) -> str:
    """`pagination._encode`: base64url of json.dumps([fingerprint, [text of each key]]).

    `keys` are (column, sql type) of the row's selected sort values."""
    parts = []
    for column, sql_type in keys:
        if sql_type == "float8":
            raise Unsupported("cursor over a float")
        if sql_type == "timestamptz":
            text = "'\"' || " + timestamp(column) + " || '\"'"
        elif sql_type == "text":
            text = python_json_string(column)
        elif sql_type == "date":
            text = f"'\"' || to_char({column}, 'YYYY-MM-DD') || '\"'"
        else:  # uuid, integer, numeric, date, boolean: their text is Python's str()
            text = f"'\"' || ({column})::text || '\"'"
        parts.append(f"coalesce({text}, 'null')")
    body = " || ',' || ".join(parts)
    return base64url(f"{literal(f'[{chr(34)}{fingerprint}{chr(34)},[')} || {body} || ']]'")
