"""Rules written once, evaluated in Python or built as SQL, by the same function.

A rule such as "overdue" or "who may see this leader" is written with these few helpers over
values that are either plain Python values (a loaded row, the caller) or SQL columns. Given
plain values the rule answers True/False; given a column it becomes a WHERE clause; mixed (the
caller's role is known, the rows are not) it folds what is known and leaves the rest to SQL.

A term may be a zero-argument callable, evaluated only when needed (e.g. `met_on > as_of`
when `met_on` may be None in Python).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import ColumnElement, and_, false, literal, or_, true
from sqlalchemy.sql.elements import ClauseElement

Term = Any  # bool | ColumnElement[bool] | Callable[[], bool | ColumnElement[bool]]


def is_sql(value: Any) -> bool:
    return isinstance(value, ClauseElement) or hasattr(value, "__clause_element__")


def _value(term: Term) -> Any:
    return term() if callable(term) and not is_sql(term) else term


def all_of(*terms: Term) -> Any:
    """AND: Python short-circuit for known terms; the unknown ones joined in SQL."""
    sql: list[ColumnElement[bool]] = []
    for term in terms:
        value = _value(term)
        if is_sql(value):
            sql.append(value)
        elif not value:
            return false() if sql else False
    if not sql:
        return True
    return sql[0] if len(sql) == 1 else and_(*sql)


def any_of(*terms: Term) -> Any:
    """OR: Python short-circuit for known terms; the unknown ones joined in SQL."""
    sql: list[ColumnElement[bool]] = []
    for term in terms:
        value = _value(term)
        if is_sql(value):
            sql.append(value)
        elif value:
            return true() if sql else True
    if not sql:
        return False
    return sql[0] if len(sql) == 1 else or_(*sql)


def member(value: Any, values: Iterable[Any]) -> Any:
    options = sorted(values) if not isinstance(values, tuple | list) else list(values)
    if is_sql(value):
        return value.in_(options) if options else false()
    return value in options


def missing(value: Any) -> Any:
    return value.is_(None) if is_sql(value) else value is None


def present(value: Any) -> Any:
    return value.is_not(None) if is_sql(value) else value is not None


def is_true(value: Any) -> Any:
    return value.is_(True) if is_sql(value) else value is True


def is_false(value: Any) -> Any:
    return value.is_(False) if is_sql(value) else value is False


def starts_with(value: Any, prefix: Any) -> Any:
    """`value` begins with `prefix` (a materialised unit path under another): False for None."""
    if is_sql(value):
        return value.startswith(prefix) if prefix is not None else false()
    if is_sql(prefix):
        return literal(value).startswith(prefix) if value is not None else false()
    return value is not None and prefix is not None and value.startswith(prefix)


def where(rule: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """A rule as a WHERE clause, even when every input was known (True → true())."""
    value = rule(*args, **kwargs)
    if is_sql(value):
        return value
    return true() if value else false()
