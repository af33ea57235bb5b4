"""`from carbon.codecarbon import EmissionsTracker`: the documented alias of carbon.compat."""

from carbon.compat import *  # noqa: F403
from carbon.compat import __all__  # noqa: F401
