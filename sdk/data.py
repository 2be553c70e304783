"""Storages, paths, data objects and data placeholders (``wf.data``).

``OBSPath``, ``OBSPlaceholder`` and ``OBSOutputConfig`` are the ModelArts names of
``ObjectPath``, ``ObjectPlaceholder`` and ``OutputConfig``.
"""

from sdk._data import (
    DataConsumptionSelector,
    Dataset,
    DatasetPlaceholder,
    DatasetVersionConfig,
    DataTypeEnum,
    GalleryModel,
    InputStorage,
    LabelTask,
    LabelTaskPlaceholder,
    LabelTaskTypeEnum,
    MetricsConfig,
    ObjectPath,
    ObjectPlaceholder,
    OutputConfig,
    OutputConsumption,
    OutputStorage,
    ServiceData,
    ServiceInputPlaceholder,
    ServiceUpdatePlaceholder,
    Storage,
    StorageJoin,
    SWRImage,
    SWRImagePlaceholder,
)

OBSPath = ObjectPath
OBSPlaceholder = ObjectPlaceholder
OBSOutputConfig = OutputConfig

__all__ = [
    "DataConsumptionSelector",
    "DataTypeEnum",
    "Dataset",
    "DatasetPlaceholder",
    "DatasetVersionConfig",
    "GalleryModel",
    "InputStorage",
    "LabelTask",
    "LabelTaskPlaceholder",
    "LabelTaskTypeEnum",
    "MetricsConfig",
    "OBSOutputConfig",
    "OBSPath",
    "OBSPlaceholder",
    "ObjectPath",
    "ObjectPlaceholder",
    "OutputConfig",
    "OutputConsumption",
    "OutputStorage",
    "SWRImage",
    "SWRImagePlaceholder",
    "ServiceData",
    "ServiceInputPlaceholder",
    "ServiceUpdatePlaceholder",
    "Storage",
    "StorageJoin",
]
