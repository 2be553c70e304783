"""Storages, paths, data objects and data placeholders (``wf.data``).

``OBSPath``, ``OBSPlaceholder`` and ``OBSOutputConfig`` are the ModelArts names of
``ObjectPath``, ``ObjectPlaceholder`` and ``OutputConfig``.
"""

from sdk._data import (
    DataConsumptionSelector,
    DataSelector,
    Dataset,
    DatasetPlaceholder,
    DatasetTypeEnum,
    DataTypeEnum,
    GalleryModel,
    InputStorage,
    LabelTask,
    LabelTaskPlaceholder,
    LabelTaskTypeEnum,
    MetricsConfig,
    ModelData,
    ObjectPath,
    ObjectPlaceholder,
    OutputConfig,
    OutputConsumption,
    OutputStorage,
    OutputVariable,
    ServiceData,
    ServiceInputPlaceholder,
    ServiceUpdatePlaceholder,
    Storage,
    StorageJoin,
    SWRImage,
    SWRImagePlaceholder,
)
from sdk._parts import DatasetVersionConfig, LabelTaskConfig, TripartiteServiceConfig

OBSPath = ObjectPath
OBSPlaceholder = ObjectPlaceholder
OBSOutputConfig = OutputConfig

__all__ = [
    "DataConsumptionSelector",
    "DataSelector",
    "DataTypeEnum",
    "Dataset",
    "DatasetPlaceholder",
    "DatasetTypeEnum",
    "DatasetVersionConfig",
    "GalleryModel",
    "InputStorage",
    "LabelTask",
    "LabelTaskConfig",
    "LabelTaskPlaceholder",
    "LabelTaskTypeEnum",
    "MetricsConfig",
    "ModelData",
    "OBSOutputConfig",
    "OBSPath",
    "OBSPlaceholder",
    "ObjectPath",
    "ObjectPlaceholder",
    "OutputConfig",
    "OutputConsumption",
    "OutputStorage",
    "OutputVariable",
    "SWRImage",
    "SWRImagePlaceholder",
    "ServiceData",
    "ServiceInputPlaceholder",
    "ServiceUpdatePlaceholder",
    "Storage",
    "StorageJoin",
    "TripartiteServiceConfig",
]
