"""Gallery SDK: define, publish and run ML workflows (``import sdk as wf``).

This first cut carries the session (``wf.Session``) and the client errors; the workflow
definitions arrive with the SDK issue.
"""

from sdk._errors import ApiError, ConfigurationError, GalleryError
from sdk._session import Session

__all__ = ["ApiError", "ConfigurationError", "GalleryError", "Session"]
