"""jixiao 绩效: departmental expenditure performance self-evaluation, offline first.

The core is `evaluate(submission, framework) -> Evaluation`: pure, deterministic, the same
in the CLI, the browser (Pyodide) and consolidation.
"""

from .catalog import example_names, framework_ids, load_example, load_framework
from .model.evaluation import Evaluation, Finding
from .model.framework import Framework
from .model.submission import Submission
from .rules.evaluate import evaluate

__version__ = "0.3.0"

__all__ = [
    "Evaluation",
    "Finding",
    "Framework",
    "Submission",
    "__version__",
    "evaluate",
    "example_names",
    "framework_ids",
    "load_example",
    "load_framework",
]
