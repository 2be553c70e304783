"""Workflow policies: scenes for partial runs (``wf.policy``)."""

from sdk._workflow import Policy, Scene

__all__ = ["Policy", "Scene"]
