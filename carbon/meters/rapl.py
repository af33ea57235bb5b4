"""CPU package and DRAM energy from Intel/AMD RAPL counters, through the Linux powercap tree.

Layout (the kernel's): `/sys/class/powercap/intel-rapl` is the control type (with `enabled`);
each zone is a directory `intel-rapl:<pkg>` holding `name` (`package-0`, `psys`), `energy_uj`,
`max_energy_range_uj` and `enabled`, with its subzones nested inside it as `intel-rapl:<pkg>:<n>`
(`core`, `uncore`, `dram`). The class directory also holds symlinks to every zone. Zone numbers
are hexadecimal (`intel-rapl:a` is the eleventh package).

What is counted, and why nothing twice:
- cpu = every package zone; `core` and `uncore` are parts of their package and are read only
  when the package itself cannot be read.
- ram = every `dram` zone (separate from the package energy).
- `psys` (the whole platform on client chips) includes the packages, so it is used as the CPU
  figure only when no package zone is readable.

Counters wrap at `max_energy_range_uj`: the value runs 0..max, so a reading below the previous one
means one wrap of max + 1 µJ. More than one wrap between two reads cannot be seen; `poll_s` says
how often to read so that it cannot happen even at 1 kW per zone. A drop is a wrap only when the
energy it implies is consistent with that: at most half the range (what `poll_s` allows) or what
1 kW could draw since the previous read. Any other drop (a counter reset by a driver reload or a
resume, a counter running backwards) is a reset: the step counts nothing and a note says so,
rather than adding most of a range (262 kJ on a typical package) of energy that never was. Since the 2020 RAPL advisory
(CVE-2020-8694, "Platypus") `energy_uj` is readable by root only on most distributions: the meter
then says so once, with the command that fixes it, and the tracker falls back to the model.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from carbon.meters.base import Measurement, NullMeter
from carbon.model import Bounds

DEFAULT_ROOT = "/sys/class/powercap"
ROOT_ENV = "CARBON_POWERCAP_ROOT"
CONTROL_TYPE = "intel-rapl"
ZONE_NAME = re.compile(r"^intel-rapl(?::[0-9a-fA-F]+)+$")
# Upper bound on one zone's draw, to choose a poll period that can never miss a wrap.
MAX_ZONE_POWER_W = 1000.0
MIN_POLL_S = 0.05
METHOD = "measured:rapl"


def powercap_root(environ: dict[str, str] | None = None) -> Path:
    variables: Mapping[str, str] = os.environ if environ is None else environ
    return Path(variables.get(ROOT_ENV) or DEFAULT_ROOT)


def zone_id(name: str) -> tuple[int, ...]:
    """`intel-rapl:a:1` -> (10, 1): the numbers are hexadecimal."""
    return tuple(int(part, 16) for part in name.split(":")[1:])


def unit_delta_uj(previous_uj: int, current_uj: int, max_range_uj: int) -> int:
    """Energy between two readings of a counter that runs 0..max_range_uj and then wraps to 0."""
    if current_uj >= previous_uj:
        return current_uj - previous_uj
    return current_uj + (max_range_uj + 1 - previous_uj)


def fix_hint(root: Path) -> str:
    return (
        f"RAPL energy counters under {root} are readable by root only (the default since the 2020 RAPL "
        f"advisory, CVE-2020-8694); CPU and memory energy will be modelled instead. To measure them, run "
        f"`sudo chmod o+r {root}/intel-rapl:*/energy_uj {root}/intel-rapl:*:*/energy_uj` (until reboot), "
        f"or make it permanent with a udev rule, e.g. in /etc/udev/rules.d/70-carbon-rapl.rules: "
        f'ACTION=="add", SUBSYSTEM=="powercap", KERNEL=="intel-rapl:*", RUN+="/bin/chmod o+r /sys%p/energy_uj"'
    )


@dataclass
class Zone:
    """One powercap zone directory and the state of its counter."""

    name: str  # directory name, e.g. "intel-rapl:0:1"
    path: Path
    label: str  # the zone's `name` file: "package-0", "core", "dram", "psys"
    max_range_uj: int
    previous_uj: int | None = None
    previous_at: float = 0.0  # monotonic time of the previous read
    accumulated_uj: int = 0
    wraps: int = field(default=0)
    resets: int = field(default=0)

    @property
    def kind(self) -> str:
        return self.label.split("-")[0]

    def read_uj(self) -> int:
        with open(self.path / "energy_uj", "rb") as handle:
            return int(handle.read())

    def poll(self) -> str | None:
        """Read and accumulate; returns a note when the counter dropped in a way no wrap explains."""
        current, now = self.read_uj(), time.monotonic()
        previous, elapsed_s = self.previous_uj, now - self.previous_at
        self.previous_uj, self.previous_at = current, now
        if previous is None:
            return None
        delta_uj = unit_delta_uj(previous, current, self.max_range_uj)
        if current >= previous:
            self.accumulated_uj += delta_uj
            return None
        if delta_uj <= max(self.max_range_uj / 2, elapsed_s * MAX_ZONE_POWER_W * 1e6):
            self.wraps += 1
            self.accumulated_uj += delta_uj
            return None
        self.resets += 1
        return (
            f"RAPL zone {self.name} counter went back from {previous} to {current} µJ, too far for a wrap "
            f"of its 0..{self.max_range_uj} range in {elapsed_s:.3g} s: treated as a reset, that step not counted"
        )

    def drain_uj(self) -> int:
        value, self.accumulated_uj = self.accumulated_uj, 0
        return value


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def discover(root: Path) -> list[Zone]:
    """Every RAPL zone under root, each once (the class dir's symlinks and the nesting both lead to it)."""
    found: dict[str, Path] = {}
    visited: set[str] = set()
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            is_zone = bool(ZONE_NAME.match(entry.name))
            if not (is_zone or entry.name == CONTROL_TYPE):
                continue  # never follow `device`/`subsystem` links back up the tree
            try:
                if not entry.is_dir():
                    continue
            except OSError:
                continue
            if entry.name in visited:
                continue
            visited.add(entry.name)
            if is_zone:
                found[entry.name] = Path(entry.path)
            stack.append(Path(entry.path))
    zones = []
    for name in sorted(found, key=zone_id):
        path = found[name]
        label = _read_text(path / "name")
        max_range = _read_text(path / "max_energy_range_uj")
        if label is None or max_range is None or not max_range.isdigit():
            continue
        if _read_text(path / "enabled") == "0":
            continue
        zones.append(Zone(name, path, label, int(max_range)))
    return zones


def select(zones: list[Zone], readable: set[str]) -> dict[str, list[Zone]]:
    """Zones to count per component, never a subzone together with its parent (see module docstring)."""
    cpu: list[Zone] = []
    ram: list[Zone] = []
    for zone in zones:
        ident = zone_id(zone.name)
        if zone.kind == "dram" and zone.name in readable:
            ram.append(zone)
        elif zone.kind == "package" and len(ident) == 1:
            if zone.name in readable:
                cpu.append(zone)
            else:
                parts = [
                    z
                    for z in zones
                    if zone_id(z.name)[:1] == ident
                    and len(zone_id(z.name)) == 2
                    and z.kind in ("core", "uncore")
                    and z.name in readable
                ]
                cpu.extend(parts)
    if not cpu:
        cpu = [z for z in zones if z.kind == "psys" and z.name in readable]
    return {"cpu": cpu, "ram": ram}


class RaplMeter:
    """Measured CPU (package) and memory (dram) energy from the powercap counters."""

    name = "rapl"

    def __init__(self, zones: dict[str, list[Zone]], root: Path, notes: list[str]) -> None:
        self.zones = zones
        self.root = root
        self.components = tuple(component for component, chosen in zones.items() if chosen)
        all_zones = [z for chosen in zones.values() for z in chosen]
        shortest_range_j = min(z.max_range_uj for z in all_zones) / 1e6
        self.poll_s = max(MIN_POLL_S, shortest_range_j / MAX_ZONE_POWER_W / 2.0)
        self._notes = list(notes)
        self._read_errors: set[str] = set()
        self.poll()

    def available(self) -> bool:
        return True

    def zone_names(self, component: str) -> list[str]:
        return [f"{z.name} ({z.label})" for z in self.zones.get(component, [])]

    def poll(self) -> None:
        for chosen in self.zones.values():
            for zone in chosen:
                try:
                    note = zone.poll()
                except (OSError, ValueError) as error:
                    if zone.name not in self._read_errors:
                        self._read_errors.add(zone.name)
                        self._notes.append(
                            f"RAPL zone {zone.name} could not be read mid-run ({error}); "
                            "its energy since the last good reading is missing"
                        )
                    continue
                if note and zone.resets == 1:  # said once per zone; later resets are counted in `resets`
                    self._notes.append(note)

    def take(self) -> list[Measurement]:
        self.poll()
        result = []
        for component in self.components:
            total_uj = sum(zone.drain_uj() for zone in self.zones[component])
            detail = ", ".join(self.zone_names(component))
            result.append(Measurement(component, Bounds.exact(total_uj / 1e6), METHOD, detail))
        return result

    def notes(self) -> list[str]:
        notes, self._notes = self._notes, []
        return notes

    def close(self) -> None:
        return None


def open_rapl(root: Path | None = None) -> RaplMeter | NullMeter:
    """The RAPL meter for this machine, or a null meter saying why there is none."""
    root = powercap_root() if root is None else root
    if _read_text(root / CONTROL_TYPE / "enabled") == "0":
        return NullMeter("rapl", f"RAPL is disabled ({root / CONTROL_TYPE / 'enabled'} is 0)")
    zones = discover(root)
    if not zones:
        return NullMeter("rapl", f"no RAPL zones under {root}")
    readable: set[str] = set()
    denied: list[str] = []
    for zone in zones:
        try:
            zone.read_uj()
            readable.add(zone.name)
        except PermissionError:
            denied.append(zone.name)
        except (OSError, ValueError):
            continue
    chosen = select(zones, readable)
    notes = [fix_hint(root)] if denied else []
    if not any(chosen.values()):
        return NullMeter("rapl", notes[0] if notes else f"no readable RAPL zone under {root}", notes)
    if denied:
        notes = [f"some RAPL zones ({', '.join(denied)}) are not readable: " + fix_hint(root)]
    return RaplMeter(chosen, root, notes)
