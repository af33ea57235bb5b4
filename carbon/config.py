"""One source of truth for settings: arguments, then `CARBON_*` variables, then a config file, then defaults.

`carbon config` prints every value with where it came from, so that a surprising result can be
traced to the setting that caused it. Secrets are masked whenever a value is shown.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from carbon.errors import UserInputError


def _str(value: Any) -> str:
    return str(value)


def number(
    value: Any, *, minimum: float, exclusive: bool = False, maximum: float | None = None, unit: str = ""
) -> float:
    """A finite number at or above `minimum` (strictly above with `exclusive`) and at most `maximum`,
    else ValueError naming the value as given. The one range check for a setting, whether it comes
    from a flag, CARBON_* or a file."""
    shown = repr(value) if isinstance(value, str) else str(value)
    try:
        result = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"expected a number{f' of {unit}' if unit else ''}, got {shown}") from None
    if not math.isfinite(result):
        raise ValueError(f"must be a finite number, got {shown}")
    if result < minimum or (exclusive and result == minimum):
        relation = "above" if exclusive else "at least"
        raise ValueError(f"must be {relation} {minimum:g}{f' {unit}' if unit else ''}, got {shown}")
    if maximum is not None and result > maximum:
        raise ValueError(f"must be at most {maximum:g}{f' {unit}' if unit else ''}, got {shown}")
    return result


def _interval_s(value: Any) -> float:
    # Below 0.1 s the run log would grow by megabytes a second and the meters cannot resolve it.
    return number(value, minimum=0.1, unit="seconds")


def _timeout_s(value: Any) -> float:
    return number(value, minimum=0.0, exclusive=True, unit="seconds")


def _deadline_s(value: Any) -> float:
    # 0 is meaningful for detection: probe nothing, use what the environment says.
    return number(value, minimum=0.0, unit="seconds")


def _pue(value: Any) -> float:
    # PUE = facility energy / IT energy: below 1 would mean the building makes energy; no data
    # centre reports above 3 (the pricing's own bound).
    return number(value, minimum=1.0, maximum=3.0)


def _lifetime_years(value: Any) -> float:
    return number(value, minimum=0.0, exclusive=True, unit="years")


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"expected a boolean (true/false), got {value!r}")


def _list(value: Any) -> tuple[str, ...]:
    if isinstance(value, (list, tuple)):
        return tuple(str(v).strip() for v in value if str(v).strip())
    return tuple(part.strip() for part in str(value).split(",") if part.strip())


def _sources(value: Any) -> tuple[str, ...]:
    # Checked when read, so that a tracked run fails before its command starts, not at its end.
    from carbon.intensity.chain import check_names

    return check_names(_list(value))


def _default_cache_dir() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return str(Path(base) / "carbon")


@dataclass(frozen=True)
class Setting:
    """One setting: its name, how its text is read, its default and its help; `carbon config`
    and the CARBON_* variables are built from the list of these, so a new setting is one entry."""

    name: str
    parse: Callable[[Any], Any]
    default: Any
    help: str
    secret: bool = False

    @property
    def env(self) -> str:
        return "CARBON_" + self.name.upper()


SETTINGS: tuple[Setting, ...] = (
    Setting("region", _str, None, "region code used when none is detected (FR, US-CA, aws:us-east-1)"),
    Setting("interval_s", _interval_s, 10.0, "tracker sampling interval in seconds (at least 0.1)"),
    Setting("output_dir", _str, "carbon-runs", "folder for run logs and the runs summary CSV"),
    Setting("project", _str, None, "project name recorded with every run"),
    Setting("experiment", _str, None, "experiment name recorded with every run"),
    Setting("detect_timeout_s", _deadline_s, 1.0, "shared deadline for cloud metadata probes, seconds"),
    Setting("geoip", _bool, False, "opt-in geo-IP lookup of the region when nothing else names it"),
    Setting("pue", _pue, None, "override the data-centre PUE (1.0 to 3.0)"),
    Setting("intensity_sources", _sources, ("bundled",), "fallback chain of intensity sources, first tried first"),
    Setting("electricitymaps_token", _str, None, "Electricity Maps API token", secret=True),
    Setting("watttime_username", _str, None, "WattTime user name"),
    Setting("watttime_password", _str, None, "WattTime password", secret=True),
    Setting("cache_dir", _str, None, "on-disk cache folder (default: ~/.cache/carbon)"),
    Setting("http_timeout_s", _timeout_s, 5.0, "timeout of each live intensity request, seconds"),
    Setting("comet_auto", _bool, True, "log runs to an active comet_ml experiment when there is one"),
    Setting(
        "embodied_lifetime_years",
        _lifetime_years,
        None,
        "hardware lifetime for embodied emissions (default: the table's)",
    ),
    Setting("server_url", _str, None, "carbon server to upload runs and batch results to (carbon serve)"),
    Setting("server_token", _str, None, "API token for the carbon server (ingest scope)", secret=True),
)

_BY_NAME = {setting.name: setting for setting in SETTINGS}


@dataclass(frozen=True)
class Config:
    """The settings in force, each from the first place that gives it (arguments, CARBON_*
    variables, carbon.toml or [tool.carbon], defaults); `origins` says which."""

    region: str | None = None
    interval_s: float = 10.0
    output_dir: str = "carbon-runs"
    project: str | None = None
    experiment: str | None = None
    detect_timeout_s: float = 1.0
    geoip: bool = False
    pue: float | None = None
    intensity_sources: tuple[str, ...] = ("bundled",)
    electricitymaps_token: str | None = None
    watttime_username: str | None = None
    watttime_password: str | None = None
    cache_dir: str | None = None
    http_timeout_s: float = 5.0
    comet_auto: bool = True
    embodied_lifetime_years: float | None = None
    server_url: str | None = None
    server_token: str | None = None
    # setting name -> where its value came from ("argument", "env CARBON_X", "file PATH", "default")
    origins: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    def resolved_cache_dir(self) -> Path:
        return Path(self.cache_dir or _default_cache_dir())

    def explain(self) -> list[tuple[str, str, str]]:
        """(name, shown value, origin) for every setting, secrets masked."""
        rows = []
        for setting in SETTINGS:
            value = getattr(self, setting.name)
            shown = "***" if (setting.secret and value) else ("" if value is None else _show(value))
            rows.append((setting.name, shown, self.origins.get(setting.name, "default")))
        return rows


def _show(value: Any) -> str:
    if isinstance(value, tuple):
        return ",".join(value)
    return str(value)


class ConfigError(UserInputError):
    """A setting has a value that cannot be used; the message names the setting and its origin."""


def find_config_file(start: Path | None = None) -> Path | None:
    """`CARBON_CONFIG`, else the nearest carbon.toml or pyproject.toml with [tool.carbon] upwards."""
    explicit = os.environ.get("CARBON_CONFIG")
    if explicit:
        return Path(explicit)
    directory = (start or Path.cwd()).resolve()
    for folder in (directory, *directory.parents):
        candidate = folder / "carbon.toml"
        if candidate.is_file():
            return candidate
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file() and "[tool.carbon]" in pyproject.read_text(encoding="utf-8", errors="replace"):
            return pyproject
    return None


def _read_file(path: Path) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # Python 3.10
        import tomli as tomllib
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist (from CARBON_CONFIG)") from None
    except IsADirectoryError:
        raise ConfigError(f"config file {path} is a directory") from None
    except UnicodeDecodeError as error:
        raise ConfigError(f"config file {path} is not UTF-8 text (byte {error.start}): save it as UTF-8") from None
    except OSError as error:
        raise ConfigError(f"cannot read config file {path}: {error.strerror or error}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"config file {path} is not valid TOML: {error}") from None
    if path.name == "pyproject.toml":
        data = data.get("tool", {}).get("carbon", {})
    elif "carbon" in data and isinstance(data["carbon"], dict):
        data = data["carbon"]
    unknown = sorted(set(data) - set(_BY_NAME))
    if unknown:
        raise ConfigError(f"config file {path}: unknown setting(s) {', '.join(unknown)}; known: {', '.join(_BY_NAME)}")
    return data


def load(
    arguments: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    config_file: Path | None = None,
) -> Config:
    """Fill the Config from arguments (non-None values), environment, file and defaults, in that order."""
    arguments = {k: v for k, v in (arguments or {}).items() if v is not None}
    environ = os.environ if environ is None else environ
    path = config_file if config_file is not None else find_config_file()
    file_values = _read_file(path) if path else {}
    values: dict[str, Any] = {}
    origins: dict[str, str] = {}
    for setting in SETTINGS:
        for origin, store, key in (
            ("argument", arguments, setting.name),
            (f"env {setting.env}", environ, setting.env),
            (f"file {path}", file_values, setting.name),
        ):
            if key in store and store[key] not in (None, ""):
                try:
                    values[setting.name] = setting.parse(store[key])
                except (TypeError, ValueError) as error:
                    raise ConfigError(f"setting {setting.name} from {origin}: {error}") from None
                origins[setting.name] = origin
                break
        else:
            values[setting.name] = setting.default
            origins[setting.name] = "default"
    unknown_args = set(arguments) - set(_BY_NAME)
    if unknown_args:
        raise ConfigError(f"unknown setting(s) {', '.join(sorted(unknown_args))}")
    return Config(**values, origins=origins)


def parse(name: str, value: Any) -> Any:
    """The setting `name` parsed and range-checked as `load` does it (for a command-line flag's type)."""
    return _BY_NAME[name].parse(value)


def field_names() -> tuple[str, ...]:
    return tuple(f.name for f in fields(Config) if f.name != "origins")
