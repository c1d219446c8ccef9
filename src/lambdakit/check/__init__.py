"""``lambdakit check``: the configuration mistakes that break partial batch responses, found in
a SAM or CloudFormation template before they are deployed.

:func:`check_template` returns one :class:`Finding` per problem; :data:`RULES` lists every
rule by its stable id (``LK101``), with why it matters and the AWS page it follows.
"""

from __future__ import annotations

from lambdakit.check._findings import Finding, Rule
from lambdakit.check._rules import RULES, SHADOWS
from lambdakit.errors import CheckError

TYPE_CHECKING = False
if TYPE_CHECKING:
    import os
    from collections.abc import Collection
    from types import ModuleType

    from lambdakit.check._template import Template

__all__ = ["RULES", "CheckError", "Finding", "Rule", "check_template"]


def check_template(
    path: str | os.PathLike[str],
    *,
    function: str | None = None,
    batch_functions: Collection[str] | None = None,
    import_handlers: bool = False,
    ignore: Collection[str] = (),
) -> list[Finding]:
    """Every finding for the template at ``path``, in template order.

    ``function``: check only that function (logical id) and its event sources.
    ``batch_functions``: the functions whose handlers use ``process_batch`` (partial batch
    responses). Without it, ``import_handlers=True`` finds them by importing each function's
    handler from its ``CodeUri``; without either, every function with an SQS, Kinesis,
    DynamoDB or Kafka event source is assumed to use them, and findings say so.
    ``ignore``: rule ids to leave out. Raises :class:`CheckError` for a template that cannot be
    read, an unknown function or rule id, or a handler that cannot be imported.
    """
    from pathlib import Path

    from lambdakit.check._rules import BATCH_SOURCES, Checker
    from lambdakit.check._template import Template

    unknown = sorted(set(ignore) - set(RULES))
    if unknown:
        raise CheckError(
            f"ignore: unknown rule ids {', '.join(unknown)}; rules: {', '.join(RULES)}"
        )
    template = Template(Path(path))
    functions = template.functions()
    if function is not None:
        if function not in functions:
            raise CheckError(
                f"{template.file}: no function {function!r}; functions: "
                f"{', '.join(functions) or 'none'}"
            )
        functions = [function]
    with_batches = {s.function for s in template.event_sources() if s.kind in BATCH_SOURCES}
    partial_batch: dict[str, bool]
    if batch_functions is not None:
        partial_batch = dict.fromkeys(batch_functions, True)
    elif import_handlers:
        partial_batch = {
            name: True
            for name in functions
            if name in with_batches and _uses_process_batch(template, name)
        }
    else:
        partial_batch = dict.fromkeys(with_batches, False)
    findings = Checker(template, partial_batch, functions).run()
    ignored = set(ignore)
    # A rule that says more about the same property hides the lesser one, unless it is ignored:
    # --ignore leaves out the rule named and nothing else.
    shadowed = {
        (SHADOWS[f.rule.id], f.resource, f.path)
        for f in findings
        if f.rule.id in SHADOWS and f.rule.id not in ignored
    }
    return [
        f
        for f in findings
        if f.rule.id not in ignored and (f.rule.id, f.resource, f.path) not in shadowed
    ]


def _uses_process_batch(template: Template, function: str) -> bool:
    """Whether the function's handler (imported from its ``CodeUri``) is ``process_batch``'s
    Lambda handler, however many lambdakit decorators are stacked over it."""
    from lambdakit._internal.stacking import stack_of

    handler_name = template.value(template.function_setting(function, "Handler")[0])
    if not isinstance(handler_name, str) or "." not in handler_name:
        raise CheckError(f"{template.file}: {function}: no static Handler to import")
    module_name, attribute = handler_name.rsplit(".", 1)
    module = _import_handler_module(template, function, module_name)
    handler = getattr(module, attribute, None)
    if handler is None:
        raise CheckError(
            f"{template.file}: {function}: Handler {handler_name!r}: module has no {attribute!r}"
        )
    return any(layer[0] == "process_batch" for layer in stack_of(handler))


def _import_handler_module(template: Template, function: str, module_name: str) -> ModuleType:
    """The handler's module, imported from the function's code directory (which is put first
    on ``sys.path`` while it imports, as Lambda's task root is)."""
    import importlib.util
    import sys
    from pathlib import Path

    code_uri = template.value(template.function_setting(function, "CodeUri")[0] or ".")
    if not isinstance(code_uri, str):
        raise CheckError(
            f"{template.file}: {function}: no local CodeUri to import the handler from"
        )
    root = (Path(template.file).parent / code_uri).resolve()
    relative = module_name.replace(".", "/")
    file = root / f"{relative}.py"
    if not file.is_file():
        file = root / relative / "__init__.py"
    if not file.is_file():
        raise CheckError(
            f"{template.file}: {function}: handler module {module_name!r} not in {root}"
        )
    unique = f"_lambdakit_check_{function}_{module_name.replace('/', '_').replace('.', '_')}"
    spec = importlib.util.spec_from_file_location(unique, file)
    if spec is None or spec.loader is None:
        raise CheckError(f"{template.file}: {function}: cannot import {file}")
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(root))
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # the handler's own import-time error, named with its function
        raise CheckError(
            f"{template.file}: {function}: importing {file} failed: {type(exc).__name__}: {exc}"
        ) from exc
    finally:
        sys.path.remove(str(root))
    return module
