"""The assets domain's services, by concern, for ``registry.assets.routes`` (and the runner's
``use_check``). Other modules import from the module that holds what they need:

* ``crud``: assets themselves (create, find if readable, edit, delete, API shape);
* ``version_reads``: reading versions, the latest readable ones, dependencies;
* ``whitelists``: who is on a version's whitelist, edits cascading to dependencies;
* ``import_checks``: whether a version and what it depends on may be used now;
* ``principals``: user and group names to ids and back.

The access rules themselves are in ``registry.access``.
"""

from __future__ import annotations

from registry.assets.crud import asset_read, create_asset, delete_asset, find_asset, update_asset
from registry.assets.import_checks import import_check, use_check
from registry.assets.version_reads import find_version, list_versions, versions_read, with_changes
from registry.assets.whitelists import change_whitelist, read_whitelist

__all__ = [
    "asset_read",
    "change_whitelist",
    "create_asset",
    "delete_asset",
    "find_asset",
    "find_version",
    "import_check",
    "list_versions",
    "read_whitelist",
    "update_asset",
    "use_check",
    "versions_read",
    "with_changes",
]
