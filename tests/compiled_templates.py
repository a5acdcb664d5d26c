"""Jinja code compiled once per test process and shared by all of Copier's renders in it.

Copier builds a new Jinja environment for every copy, so each of the suite's renders (the answer
matrix alone has 544) compiled the kit's templates, paths and question strings again: about a third
of a render. A template's compiled code depends only on its source and on the environment's parsing
and code-generation settings, the same for every render of copier.yml's `_envops`, so it is cached
on those. The file name (in Copier's temporary clone, a new one each copy) is left out: it only names
the source in tracebacks. tests/test_render.py checks that a render with the shared code is
byte-identical to one without.
"""

from __future__ import annotations

from typing import Any

import jinja2

UNSHARED = jinja2.Environment.compile


def _settings(environment: jinja2.Environment) -> tuple[Any, ...]:
    """What besides the source decides the compiled code (the lexer is cached by its settings)."""
    return (environment.lexer, tuple(sorted(environment.extensions)), environment.autoescape,
            environment.finalize, environment.is_async, environment.optimized)  # fmt: skip


_COMPILED: dict[tuple[Any, ...], Any] = {}


def _compile_once(
    self: jinja2.Environment, source: Any, name: str | None = None, filename: str | None = None,
    raw: bool = False, defer_init: bool = False,
) -> Any:  # fmt: skip
    if not isinstance(source, str):  # an already parsed template: nothing to key on
        return UNSHARED(self, source, name, filename, raw, defer_init)
    key = (source, name, raw, defer_init, *_settings(self))
    if key not in _COMPILED:
        _COMPILED[key] = UNSHARED(self, source, name, filename, raw, defer_init)
    return _COMPILED[key]


def share(on: bool = True) -> None:
    """Every Jinja environment of this process compiles through the shared cache (or, off, as Jinja does)."""
    jinja2.Environment.compile = _compile_once if on else UNSHARED  # type: ignore[method-assign,assignment]
