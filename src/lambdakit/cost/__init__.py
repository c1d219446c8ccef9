"""The SQS -> Lambda cost and capacity planner (``lambdakit cost``).

From a :class:`Workload` (what arrives), a :class:`HandlerProfile` (what an invocation costs:
given, or measured from the user's own handler with :func:`measure` or from a
:class:`~lambdakit.testing.esm.Summary` with :func:`fit_summary`) and the settings to explore
(:class:`Config`, :class:`Grid`), :func:`estimate` prices one setting and :func:`plan` ranks
them all and recommends the cheapest that meets a latency target: Lambda compute and requests,
INIT, every SQS request, provisioned pollers, concurrency, drain time and latency, each term
documented in ``lambdakit.cost._model`` with its source; :func:`plan_text`,
:func:`plan_json` and :func:`plan_html` report a plan. :func:`read_input_prop` and
:func:`compat_rows` reproduce AWS's aws-lambda-sqs-cost-estimator to the cent.

Prices are a dated table (:data:`DEFAULT_PRICES`, us-east-1), overridable with
:meth:`Prices.from_file`. Nothing here is imported by the other utilities; the HTML report
needs ``lambdakit[cost]`` (Plotly).
"""

from lambdakit._internal.lazy import lazy_attributes
from lambdakit.cost._prices import DEFAULT_PRICES, Prices, Tier
from lambdakit.cost._results import Breakdown, Estimate, Measurement, Plan
from lambdakit.cost._types import (
    Account,
    Assumptions,
    Config,
    Grid,
    HandlerProfile,
    Workload,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from lambdakit.cost._compat import CompatInput, CompatRow, compat_rows, read_input_prop
    from lambdakit.cost._html import plan_html
    from lambdakit.cost._measure import InitCost, fit, fit_summary, measure, measure_init
    from lambdakit.cost._model import estimate
    from lambdakit.cost._plan import plan
    from lambdakit.cost._report import plan_json, plan_text

__all__ = [
    "DEFAULT_PRICES",
    "Account",
    "Assumptions",
    "Breakdown",
    "CompatInput",
    "CompatRow",
    "Config",
    "Estimate",
    "Grid",
    "HandlerProfile",
    "InitCost",
    "Measurement",
    "Plan",
    "Prices",
    "Tier",
    "Workload",
    "compat_rows",
    "estimate",
    "fit",
    "fit_summary",
    "measure",
    "measure_init",
    "plan",
    "plan_html",
    "plan_json",
    "plan_text",
    "read_input_prop",
]

__getattr__ = lazy_attributes(
    globals(),
    __name__,
    {
        "CompatInput": "lambdakit.cost._compat",
        "CompatRow": "lambdakit.cost._compat",
        "compat_rows": "lambdakit.cost._compat",
        "read_input_prop": "lambdakit.cost._compat",
        "fit": "lambdakit.cost._measure",
        "fit_summary": "lambdakit.cost._measure",
        "measure": "lambdakit.cost._measure",
        "measure_init": "lambdakit.cost._measure",
        "InitCost": "lambdakit.cost._measure",
        "plan_html": "lambdakit.cost._html",
        "plan_json": "lambdakit.cost._report",
        "plan_text": "lambdakit.cost._report",
        "estimate": "lambdakit.cost._model",
        "plan": "lambdakit.cost._plan",
    },
)
