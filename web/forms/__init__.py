"""Typed form fields for placeholder values, one rule for every form that takes them: a
workflow's configuration form (fields ``p.NAME``, storage roots ``s.NAME`` and ``scene``) and a
step's Continue and Retry forms on the execution page (fields named by the placeholder).

A field shows a value as text (``value_text``) and the submitted text is read back as the
placeholder's type (``parse_text``), to the same value: an int stays an int.

Reading is lenient on purpose: text that is not of the type stays text, and the registry's own
check (``validate_config``, ``check_continue``, ``check_retry``) refuses it with its message, so
a value has one rule wherever it is given. Only JSON that does not parse is refused here (the
registry would only see a string, and the parser knows where the JSON breaks).

A checkbox is preceded by a hidden ``false`` of the same name: the browser sends both when it
is ticked (the last one counts), and the field is known to have been on the form either way.
An enum's choices travel as their text (a string as itself, other values as JSON), or all as
JSON when two would read the same (``1`` and ``"1"``), so a choice keeps its type.
"""

from web.forms.config import ConfigForm, SceneChoice, build_form, read_form
from web.forms.fields import EMPTY, Field, Option, parse_text, value_text
from web.forms.steps import StepField, changed, read_values, step_errors, step_fields

__all__ = [
    "EMPTY",
    "ConfigForm",
    "Field",
    "Option",
    "SceneChoice",
    "StepField",
    "build_form",
    "changed",
    "parse_text",
    "read_form",
    "read_values",
    "step_errors",
    "step_fields",
    "value_text",
]
