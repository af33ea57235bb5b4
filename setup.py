"""Package layout for setuptools (everything else is in pyproject.toml).

The repository keeps the adapters in `providers/` and the bundled tables in `intensity_data/`;
the wheel installs them inside the one top-level package, as `carbon.providers` and
`carbon.intensity_data`.
"""

from setuptools import find_packages, setup

MAPPED = {"carbon.providers": "providers", "carbon.intensity_data": "intensity_data"}

setup(
    packages=[*find_packages(include=["carbon", "carbon.*"]), *MAPPED],
    package_dir=MAPPED,
)
