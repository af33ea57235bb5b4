"""A CodeCarbon-compatible API on carbon: change one import line and a CodeCarbon script runs as is.

    from carbon.codecarbon import EmissionsTracker, OfflineEmissionsTracker, track_emissions
    # was: from codecarbon import EmissionsTracker, OfflineEmissionsTracker, track_emissions

`carbon.codecarbon` is an alias of this module. See carbon.compat.tracker for what is honoured.
"""

from carbon.compat.emissions_csv import COLUMNS
from carbon.compat.tracker import (
    BaseEmissionsTracker,
    CompatibilityWarning,
    EmissionsTracker,
    OfflineEmissionsTracker,
    TaskEmissions,
    track_emissions,
)

__all__ = [
    "COLUMNS",
    "BaseEmissionsTracker",
    "CompatibilityWarning",
    "EmissionsTracker",
    "OfflineEmissionsTracker",
    "TaskEmissions",
    "track_emissions",
]
