"""Griffe extension for the API reference: reST roles in docstrings become cross-references.

lambdakit's docstrings name other objects Sphinx-style (``:class:`Producer```, ``:func:`~a.b```),
which Markdown would render as ``:class:`` followed by code. Each role becomes an autorefs link
when its target is something the reference renders (found in the docstring's scope, or as a
public export of a lambdakit package); anything else (private helpers, the standard library)
is shown as code. A ``~`` shows only the last part of the name, as in Sphinx.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?:py:)?(?:class|func|meth|attr|mod|data|exc|obj):`(~?)([^`<>]+)`")
logger = griffe.get_logger("lambdakit.rest_roles")


class ReSTRoles(griffe.Extension):
    def on_package(self, *, pkg: griffe.Module, loader: griffe.GriffeLoader, **kwargs: Any) -> None:
        self._loader = loader
        self._modules = {pkg.path}  # rendered as whole pages: linked exactly
        self._objects: set[str] = set()  # rendered with their public members
        self._exports: dict[str, str] = {}  # short name -> the public path that renders it
        for module in pkg.modules.values():
            if module.name.startswith("_"):
                continue
            self._modules.add(module.path)
            for export in module.exports or ():
                name = str(export)
                member = module[name]
                self._objects.add(member.final_target.path if member.is_alias else member.path)
                self._exports.setdefault(name, f"{module.path}.{name}")
        self._rewrite(pkg)

    def _rewrite(self, obj: griffe.Object) -> None:
        if obj.docstring is not None:
            obj.docstring.value = _ROLE.sub(lambda m: self._link(m, obj), obj.docstring.value)
        for member in obj.members.values():
            if not member.is_alias:
                self._rewrite(member)  # type: ignore[arg-type]

    def _link(self, match: re.Match[str], obj: griffe.Object) -> str:
        tilde, target = match.groups()
        target = target.strip().removesuffix("()")
        text = target.rsplit(".", 1)[-1] if tilde else target
        path = self._resolve(target, obj)
        if path is None:
            logger.debug(
                "%s:%s: %s is not rendered, shown as code",
                obj.relative_filepath,
                obj.lineno,
                target,
            )
            return f"`{text}`"
        return f"[`{text}`][{path}]"

    def _candidates(self, target: str, obj: griffe.Object) -> list[str]:
        head, dot, rest = target.partition(".")
        found = [target] if target.startswith("lambdakit.") else []
        scope: griffe.Object | None = obj if obj.is_module or obj.is_class else obj.parent
        while scope is not None:
            try:
                found.append(scope.resolve(head) + dot + rest)
                break
            except griffe.NameResolutionError:
                scope = scope.parent
        if head in self._exports:
            found.append(self._exports[head] + dot + rest)
        return found

    def _resolve(self, target: str, obj: griffe.Object) -> str | None:
        for path in self._candidates(target, obj):
            try:
                found = self._loader.modules_collection[path]
            except KeyError:
                continue
            try:
                canonical: str = found.final_target.path if found.is_alias else found.path
            except griffe.AliasResolutionError:  # outside the package (the standard library)
                continue
            if canonical in self._modules or any(
                canonical == rendered or canonical.startswith(rendered + ".")
                for rendered in self._objects
            ):
                return canonical
        return None
