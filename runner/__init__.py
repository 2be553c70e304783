"""Gallery runner: the Temporal worker that executes imported workflows (see DESIGN.md §4).

Not built yet; it arrives with the runner issue.
"""
