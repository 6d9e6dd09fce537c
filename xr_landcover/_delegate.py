"""Accessor methods that carry their function's documentation.

``cube.landcover.classify?`` in a notebook (and ``help``) shows the full numpydoc docstring of
:func:`xr_landcover.classify`, its parameters less the one the accessor fills in (the array
itself), with the accessor's own examples. The function's module is imported on
first access of the method, not when the package is imported, so the accessor keeps the
package's lazy imports (plotting and segmentation load only when used).

The accessor method keeps its explicit signature (what ``inspect.signature`` and IDEs show);
``tests/test_accessor.py`` checks that it matches the function's, parameter by parameter.
"""

from __future__ import annotations

import importlib
import inspect
import re
import types
from collections.abc import Callable

__all__ = ["delegates", "merged_docstring", "target_function"]

_SECTION = re.compile(r"^(?P<title>[A-Z][A-Za-z ]+)\n-{3,}\n", flags=re.M)


def target_function(target: str) -> Callable:
    """The function ``"package.module:name"`` names, imported."""
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


def _sections(doc: str) -> tuple[str, dict[str, str]]:
    """The text before the first section, and each section's body by title (in order)."""
    matches = list(_SECTION.finditer(doc))
    head = doc[: matches[0].start()] if matches else doc
    sections = {}
    for i, match in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(doc)
        sections[match.group("title")] = doc[match.end() : end].rstrip("\n")
    return head.strip("\n"), sections


def _without_parameter(parameters: str, name: str) -> str:
    """A numpydoc Parameters body without the entry of ``name`` (its line and description)."""
    kept, skipping = [], False
    for line in parameters.splitlines():
        if line and not line[0].isspace():  # an entry's first line: "name : type"
            skipping = line.split(":")[0].strip() == name
        if not skipping:
            kept.append(line)
    return "\n".join(kept)


def merged_docstring(method_doc: str | None, function: Callable, this: str) -> str:
    """The accessor's docstring: the function's documentation without the parameter ``this``
    (the array the accessor is called on); the accessor's Examples when it has some, else
    the function's."""
    _, own = _sections(inspect.cleandoc(method_doc or ""))
    head, sections = _sections(inspect.cleandoc(function.__doc__ or ""))
    summary, _, rest = head.partition("\n\n")
    name = f"{function.__module__}.{function.__name__}"
    parts = [summary, f"The accessor form of :func:`{name}`, with ``{this}`` this array."]
    if rest:
        parts.append(rest)
    if "Examples" in own:
        sections["Examples"] = own["Examples"]
    for title, body in sections.items():
        if title == "Parameters":
            body = _without_parameter(body, this)
        parts.append(f"{title}\n{'-' * len(title)}\n{body}")
    return "\n\n".join(parts) + "\n"


class _Delegated:
    """A method whose ``__doc__`` becomes its function's on first access (see the module)."""

    def __init__(self, method: Callable, target: str, this: str | None):
        self._method = method
        self._target = target
        self._this = this
        self._merged = False
        # doctest and griffe read these: the method's own docstring and module
        self.__doc__ = method.__doc__
        self.__module__ = method.__module__
        self.__name__ = method.__name__
        self.__qualname__ = method.__qualname__
        self.__wrapped__ = method

    def _merge(self) -> None:
        try:
            function = target_function(self._target)
        except ImportError:  # an optional dependency is missing: calling the method says so
            return
        this = self._this or next(iter(inspect.signature(function).parameters))
        self._method.__doc__ = merged_docstring(self._method.__doc__, function, this)
        self._merged = True

    def __call__(self, *args, **kwargs):  # LandcoverAccessor.classify(accessor, ...)
        return self._method(*args, **kwargs)

    def __get__(self, instance, owner=None):
        if not self._merged:
            self._merge()
        return self._method if instance is None else types.MethodType(self._method, instance)


def delegates(target: str, this: str | None = None) -> Callable[[Callable], _Delegated]:
    """Decorate an accessor method that delegates to the function ``target``
    (``"package.module:name"``); ``this``: the function's parameter the accessor fills with
    its array (default: the first)."""

    def decorate(method: Callable) -> _Delegated:
        return _Delegated(method, target, this)

    return decorate
