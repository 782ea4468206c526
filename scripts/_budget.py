"""The render budget: a Jinja2 sandbox that counts steps, time and size, and stops runaways.

An operator's template is data, but Jinja is a small language: loops, macros, string
repetition and filters with width arguments can burn seconds of CPU or gigabytes of
memory. Every render therefore runs under a `RenderBudget`:

* steps: each loop iteration, call, filter and intercepted operator costs one step;
* time: the wall-clock deadline is checked at every step;
* size: no intermediate string or sequence, and not the output, may exceed `max_chars`.
  Operations whose result size is known in advance (``'x' * n``, ``center(n)``,
  ``replace('', s)``, ``join``, format widths) are refused *before* they allocate.

Going over any limit raises `TemplateBudgetError`; recursion (macros calling
themselves) ends in Python's own `RecursionError`. Callers treat both as render errors.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Callable, Iterable, Iterator, Sized
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from jinja2 import nodes
from jinja2.exceptions import TemplateRuntimeError
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.visitor import NodeTransformer


@dataclass(frozen=True)
class RenderBudget:
    """How much one render may spend; generous for a care message, tiny for a CPU hog."""

    max_steps: int = 10_000
    max_chars: int = 32_768
    max_seconds: float = 0.25


DEFAULT_BUDGET = RenderBudget()


class TemplateBudgetError(TemplateRuntimeError):
    """The template went over its render budget (steps, time or size)."""


class _Meter:
    __slots__ = ("budget", "deadline", "steps")

    def __init__(self, budget: RenderBudget) -> None:
        self.budget = budget
        self.steps = 0
        self.deadline = time.monotonic() + budget.max_seconds

    def step(self) -> None:
        self.steps += 1
        if self.steps > self.budget.max_steps:
            raise TemplateBudgetError(
                f"exceeds the render budget of {self.budget.max_steps} steps "
                "(loop iterations, calls and filters)"
            )
        if time.monotonic() > self.deadline:
            raise TemplateBudgetError(f"exceeds the render budget of {self.budget.max_seconds:g} s")

    def allow(self, size: int, what: str) -> None:
        if size > self.budget.max_chars:
            raise TemplateBudgetError(
                f"{what} would be {size} long, over the render budget of "
                f"{self.budget.max_chars} characters"
            )


_current: ContextVar[_Meter | None] = ContextVar("carebot_render_meter", default=None)


def _meter() -> _Meter:
    meter = _current.get()
    # Outside `metered_render` (e.g. constant folding while parsing) each operation is
    # still size-checked on its own.
    return meter if meter is not None else _Meter(DEFAULT_BUDGET)


def _size(value: object, limit: int) -> int:
    """Characters/items a value stands for, nested sequences included (stops past `limit`)."""
    if isinstance(value, str | bytes):
        return len(value)
    if isinstance(value, list | tuple):
        total = len(value)
        for item in value:
            if total > limit:
                break
            if isinstance(item, str | bytes | list | tuple):
                total += _size(item, limit)
        return total
    if isinstance(value, Sized) and not isinstance(value, range):
        return len(value)
    return 0


def _check_result(value: Any) -> Any:
    meter = _meter()
    meter.allow(_size(value, meter.budget.max_chars), "a value")
    return value


# `%` widths/precisions (`%99999d`, `%.99999f`) and `{:>99999}` format specs.
_PERCENT_WIDTH = re.compile(r"%[-#0 +]*(\d*)(?:\.(\d*))?")
_BRACE_WIDTH = re.compile(r"\{[^{}]*:[^{}]*?(\d+)(?:\.(\d+))?[^{}]*\}")


def _check_format(spec: object) -> None:
    if not isinstance(spec, str):
        return
    meter = _meter()
    for pattern in (_PERCENT_WIDTH, _BRACE_WIDTH):
        for match in pattern.finditer(spec):
            for number in match.groups():
                if number:
                    meter.allow(int(number), "a formatted field")


def _check_ints(values: Iterable[object], what: str) -> None:
    meter = _meter()
    for value in values:
        if isinstance(value, int) and not isinstance(value, bool):
            meter.allow(abs(value), what)


def _check_replace(text: object, old: object, new: object) -> None:
    if isinstance(text, str) and isinstance(old, str) and isinstance(new, str):
        count = len(text) + 1 if old == "" else text.count(old)
        _meter().allow(len(text) + count * len(new), "a replaced text")


def _check_join(separator: object, items: object) -> None:
    if isinstance(separator, str) and isinstance(items, Sized):
        _meter().allow(len(separator) * len(items), "a joined text")


_PADDING = frozenset({"center", "ljust", "rjust", "zfill"})


def _check_method(target: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Refuse str methods whose result would be too big before they allocate it."""
    owner = getattr(target, "__self__", None)
    name = getattr(target, "__name__", "")
    if not isinstance(owner, str):
        return
    if name in _PADDING:
        _check_ints([*args, *kwargs.values()], f"str.{name} width")
    elif name == "expandtabs":
        tab = args[0] if args else kwargs.get("tabsize", 8)
        if isinstance(tab, int):
            _meter().allow(len(owner) * max(tab, 1), "an expanded text")
    elif name == "replace" and len(args) >= 2:
        _check_replace(owner, args[0], args[1])
    elif name == "join" and args:
        _check_join(owner, args[0])
    elif name in ("format", "format_map"):
        _check_format(owner)


def _metered_filter(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(func)  # keeps `jinja_pass_arg` (context/eval-context filters)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        _meter().step()
        values = [a for a in args if not isinstance(a, Context) and not _is_eval_context(a)]
        if name == "replace" and len(values) >= 3:
            _check_replace(values[0], values[1], values[2])
        elif name == "join" and values:
            separator = values[1] if len(values) > 1 else kwargs.get("d", "")
            _check_join(separator, values[0])
        elif name == "format" and values:
            _check_format(values[0])
        _check_ints([*values[1:], *kwargs.values()], f"the {name} filter's argument")
        return _check_result(func(*args, **kwargs))

    return wrapper


def _is_eval_context(value: object) -> bool:
    return type(value).__name__ == "EvalContext"


def _metered_range(*args: int) -> range:
    meter = _meter()
    meter.step()
    _check_ints(args, "range")  # before `range` itself: 10**100 must not reach len()
    numbers = range(*args)
    meter.allow(len(numbers), "a range")
    return numbers


class _InsertMeters(NodeTransformer):
    """Loops pay a step per item; `~` concatenation is size-checked like any other value."""

    def visit_For(self, node: nodes.For) -> nodes.Node:
        self.generic_visit(node)
        node.iter = nodes.Call(
            nodes.EnvironmentAttribute("metered_iter"), [node.iter], [], None, None
        ).set_lineno(node.lineno)
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        return nodes.Call(
            nodes.EnvironmentAttribute("checked_value"), [node], [], None, None
        ).set_lineno(node.lineno)


class BudgetedEnvironment(ImmutableSandboxedEnvironment):
    """The sandbox with a meter on every loop, call, filter and size-changing operator."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.globals["range"] = _metered_range
        self.globals.pop("lipsum", None)  # lipsum(n) writes n paragraphs
        self.filters = {name: _metered_filter(name, f) for name, f in self.filters.items()}

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        tree = super()._parse(source, name, filename)
        result = _InsertMeters().visit(tree)
        assert isinstance(result, nodes.Template)
        return result

    @staticmethod
    def metered_iter(iterable: Iterable[Any]) -> Iterator[Any]:
        meter = _meter()
        for item in iterable:
            meter.step()
            yield item

    @staticmethod
    def checked_value(value: Any) -> Any:
        return _check_result(value)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        meter = _meter()
        meter.step()
        limit = meter.budget.max_chars
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                if isinstance(times, int) and isinstance(seq, str | list | tuple):
                    meter.allow(_size(seq, limit) * max(times, 0), "a repeated value")
            if isinstance(left, int) and isinstance(right, int):
                meter.allow((left.bit_length() + right.bit_length()) // 8, "a number")
        elif operator == "**" and isinstance(left, int) and isinstance(right, int):
            meter.allow(left.bit_length() * max(right, 0) // 8, "a number")
        elif operator == "%":
            _check_format(left)
            if isinstance(right, tuple):
                _check_ints(right, "a formatted field")  # `%*d` takes its width from here
        return _check_result(super().call_binop(context, operator, left, right))

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        _meter().step()
        target = getattr(__obj, "__wrapped__", __obj)  # the sandbox wraps str.format
        _check_method(target, args, kwargs)
        return _check_result(super().call(__context, __obj, *args, **kwargs))


def metered_render(render: Callable[[], Iterable[str]], budget: RenderBudget) -> str:
    """Join a template's output chunks under `budget` (a fresh meter for this render)."""
    meter = _Meter(budget)
    token = _current.set(meter)
    try:
        chunks: list[str] = []
        length = 0
        for chunk in render():
            meter.step()
            length += len(chunk)
            meter.allow(length, "the rendered text")
            chunks.append(chunk)
        return "".join(chunks)
    finally:
        _current.reset(token)
