"""``wf.workflow``: the module of the manual's import list that holds the workflow class
(``wf.workflow.Workflow`` is ``wf.Workflow``)."""

from sdk._workflow import Workflow

__all__ = ["Workflow"]
