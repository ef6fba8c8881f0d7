"""The one Jinja environment kind every template renders in: the console's pages, the built-in
notices and the notices an administrator uploads.

A template is data a person may have written (an uploaded DOCX holds Jinja), so it renders in
Jinja's immutable sandbox: no attribute that starts with `_` (the road from a string to
`__subclasses__()` and `os.popen`), no method that changes a list or a dict, `range()` capped.
On top of that, the arithmetic that could build a huge value (`'x' * 10**9`, `9 ** 9 ** 9`) is
refused past a small size, so a template can neither run code nor exhaust memory.
"""

from __future__ import annotations

import operator
from typing import Any

from jinja2 import BaseLoader, StrictUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

# Past this many characters (or list items) a product of a template's own making is refused.
MAX_BUILT = 100_000
# A power whose result would be longer than this many bits is refused (10 ** 3000 fits).
MAX_POWER_BITS = 10_000


class TemplateEnvironment(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox with `*` and `**` bounded."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, operator_: str, left: Any, right: Any) -> Any:
        if operator_ == "**":
            if isinstance(left, int) and isinstance(right, int):
                if abs(left).bit_length() * abs(right) > MAX_POWER_BITS:
                    raise SecurityError("模板中的乘方过大")
            elif isinstance(right, int | float) and abs(right) > MAX_POWER_BITS:
                raise SecurityError("模板中的乘方过大")
            return operator.pow(left, right)
        if operator_ == "*":
            for seq, times in ((left, right), (right, left)):
                if isinstance(seq, str | list | tuple) and isinstance(times, int):
                    if len(seq) * max(times, 0) > MAX_BUILT:
                        raise SecurityError("模板中的重复次数过大")
            return operator.mul(left, right)
        return super().call_binop(context, operator_, left, right)


def environment(*, loader: BaseLoader | None = None, strict: bool = False) -> TemplateEnvironment:
    """A sandboxed environment that escapes HTML/XML in every value (pages and DOCX alike).
    `strict`: a misspelt variable is an error, not a blank (the console's own pages)."""
    options: dict[str, Any] = {"autoescape": True, "loader": loader}
    if strict:
        options["undefined"] = StrictUndefined
    return TemplateEnvironment(**options)


__all__ = ["MAX_BUILT", "SecurityError", "TemplateEnvironment", "environment"]
