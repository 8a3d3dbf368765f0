"""Database queries of one request: counted, timed, and grouped by statement.

A request's ``QueryCapture`` is one of Django's execute wrappers
(``connection.execute_wrapper``) on every connection of the request's thread
while the view runs. It counts and times every query; it keeps the first
``limit`` distinct statements (the SQL text as Django sends it, with
placeholders) and counts how often each runs, so memory and the work of
``normalise`` stay bounded whatever a view does. A statement already kept is
counted every time it runs: an N+1 loop of a thousand lookups shows 1,000.

Parameters are never looked at. ``normalise`` also takes literals out of the
text (raw SQL can carry them): numbers, quoted strings and dollar-quoted
bodies become ``%s``, IN lists and VALUES rows collapse, comments go, and
whitespace collapses, so the same statement with other values is one statement,
and no value reaches storage.
"""

from __future__ import annotations

import re
from functools import lru_cache
from time import perf_counter

from django.db import connections

# Characters of a normalised statement kept (the span's column holds this many).
STATEMENT_CHARS = 300
# Characters of raw SQL normalised: a bulk INSERT can be megabytes; what
# identifies it is at its start (a literal cut in half still goes, below).
SCANNED_CHARS = 4_000
# A select list longer than this becomes "...": "SELECT ... FROM shop_item
# WHERE ..." says which statement it is; twenty column names say little and
# would push the FROM and WHERE out of the kept characters.
SELECT_LIST_CHARS = 60

_TOKENS = re.compile(
    r"""
      (?P<comment>/\*.*?(?:\*/|\Z)|--[^\n]*)
    | (?P<string>'(?:[^'\\]|\\.|'')*(?:'|\Z))
    | (?P<param>\$\d+|%\([^)]*\)s)
    | (?P<dollar>\$(?P<tag>(?:[A-Za-z_]\w*)?)\$.*?(?:\$(?P=tag)\$|\Z))
    | (?P<quoted>"(?:[^"]|"")*(?:"|\Z)|`[^`]*(?:`|\Z))
    | (?P<word>[A-Za-z_][\w$]*)
    | (?P<number>0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
    | (?P<space>\s+)
    """,
    re.VERBOSE | re.DOTALL,
)
_IDENTIFIER = re.compile(r"[A-Za-z_][\w$]*")
_IN_LIST = re.compile(r"\bIN\s*\(\s*%s(?:\s*,\s*%s)*\s*\)", re.IGNORECASE)
_ROW = r"\((?:[^()]|\([^()]*\))*\)"
_VALUES = re.compile(rf"\bVALUES\s*{_ROW}(?:\s*,\s*{_ROW})*", re.IGNORECASE)
# Savepoint names are made per transaction (Django: s<thread>_x<n>).
_SAVEPOINT = re.compile(r"\b(SAVEPOINT)\s+\S+", re.IGNORECASE)


def _token(match: re.Match) -> str:
    kind = match.lastgroup
    if kind in ("string", "param", "dollar", "number"):
        return "%s"
    if kind == "quoted":
        inner = match.group()[1:-1]
        # "shop_item"."id" reads as shop_item.id. Anything else in double
        # quotes may be a string (MySQL's default mode): a placeholder.
        return inner if _IDENTIFIER.fullmatch(inner) else "%s"
    if kind in ("comment", "space"):
        return " "
    return match.group()


def _short_select_list(text: str) -> str:
    """``SELECT a, b, ... FROM`` as ``SELECT ... FROM`` when the list is long
    (only the outermost select list; parentheses are followed)."""
    head = text[:7].upper()
    if head != "SELECT ":
        return text
    depth = 0
    upper = text.upper()
    for i in range(7, len(text)):
        char = text[i]
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif depth == 0 and upper.startswith(" FROM ", i):
            if i - 7 > SELECT_LIST_CHARS:
                return f"{text[:7]}...{text[i:]}"
            return text
    return text


@lru_cache(maxsize=1024)
def normalise(sql: str) -> str:
    """The statement without literal values, comments or layout, at most
    ``STATEMENT_CHARS`` long."""
    text = _TOKENS.sub(_token, sql[:SCANNED_CHARS])
    text = " ".join(text.split())
    text = _IN_LIST.sub("IN (...)", text)
    text = _VALUES.sub("VALUES (...)", text)
    text = _SAVEPOINT.sub(r"\1 %s", text)
    text = _short_select_list(text)
    if len(text) > STATEMENT_CHARS:
        text = text[: STATEMENT_CHARS - 3] + "..."
    return text


class QueryCapture:
    """The queries of one request (see the module's docstring).

    Installed on the connections of the current thread (and async context),
    so the span writer's thread, with connections of its own, is never
    counted; the middleware uninstalls it before it records the span.
    """

    __slots__ = ("limit", "count", "seconds", "_by_sql", "_installed")

    def __init__(self, limit: int) -> None:
        self.limit = max(int(limit), 0)
        self.count = 0
        self.seconds = 0.0
        # Raw SQL -> [runs, seconds], for at most ``limit`` statements.
        self._by_sql: dict[str, list] = {}
        self._installed: list = []

    def __call__(self, execute, sql, params, many, context):
        started = perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            elapsed = perf_counter() - started
            self.count += 1
            self.seconds += elapsed
            if type(sql) is str:  # psycopg's composed SQL objects are not kept
                tally = self._by_sql.get(sql)
                if tally is not None:
                    tally[0] += 1
                    tally[1] += elapsed
                elif len(self._by_sql) < self.limit:
                    self._by_sql[sql] = [1, elapsed]

    def install(self) -> None:
        # The wrapper list itself rather than the execute_wrapper() context
        # manager: one list append per connection, not a generator each, on
        # every request.
        for connection in connections.all():
            connection.execute_wrappers.append(self)
            self._installed.append(connection)

    def uninstall(self) -> None:
        installed, self._installed = self._installed, []
        for connection in installed:
            wrappers = connection.execute_wrappers
            if self in wrappers:
                wrappers.remove(self)

    @property
    def analysed(self) -> int:
        """Distinct statements kept (at most ``limit``)."""
        return len(self._by_sql)

    def most_repeated(self) -> tuple[str, int]:
        """(normalised statement, runs) of the statement run most often; the
        more time taken breaks a tie. ("", 0) without statements."""
        grouped: dict[str, list] = {}
        for sql, (runs, seconds) in self._by_sql.items():
            tally = grouped.setdefault(normalise(sql), [0, 0.0])
            tally[0] += runs
            tally[1] += seconds
        if not grouped:
            return "", 0
        text, (runs, _) = max(grouped.items(), key=lambda item: item[1])
        return text, runs
