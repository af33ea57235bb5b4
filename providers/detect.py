"""Which provider is this? Local facts first; metadata services only when the facts cannot tell.

1. Read DMI and the environment (no network).
2. Ask every cloud provider to `claim` the machine from those facts. One that says yes is the
   only one probed. If all say no (DMI names a laptop, a workstation, another hypervisor),
   no network call is made.
3. When some cannot tell (DMI unreadable), those probe concurrently in daemon threads under one
   shared deadline; whatever has not answered by then is abandoned, never waited for.
4. With no cloud found, the on-premises provider describes the machine and the user's region.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Mapping, Sequence

from providers.base import FALLBACK_PROVIDER, Deadline, Detection, ProbeTiming, Provider, load_providers
from providers.host import HostFacts, gather

DEFAULT_DEADLINE_S = 1.0


def deadline_seconds(environ: Mapping[str, str]) -> float:
    """`CARBON_DETECT_TIMEOUT` (seconds), else the `detect_timeout_s` setting, else 1 s."""
    text = environ.get("CARBON_DETECT_TIMEOUT")
    if text:
        try:
            value = float(text)
        except ValueError:
            raise ValueError(f"CARBON_DETECT_TIMEOUT must be a number of seconds, got {text!r}") from None
        if value < 0:
            raise ValueError(f"CARBON_DETECT_TIMEOUT must not be negative, got {text!r}")
        return value
    from carbon.config import load

    return load(environ=environ).detect_timeout_s


def _probe(provider: Provider, deadline: Deadline, facts: HostFacts, results: dict, done: threading.Event,
           lock: threading.Lock, pending: list[str]) -> None:
    started = time.monotonic()
    try:
        found = provider.detect(deadline, facts)
        outcome = "detected" if found is not None else "not detected"
    except Exception as error:  # a provider bug must cost its answer, not the detection
        found, outcome = None, f"error: {type(error).__name__}: {error}"
    with lock:
        results[provider.name] = (found, ProbeTiming(provider.name, time.monotonic() - started, outcome))
        pending.remove(provider.name)
        if found is not None or not pending:
            done.set()


def probe_all(candidates: Sequence[Provider], deadline: Deadline, facts: HostFacts) -> tuple[Detection | None, list[ProbeTiming]]:
    """Run the candidates' `detect` concurrently; the first in candidate order that detects wins.

    Returns as soon as every probe ended or one detected, and at the deadline at the latest.
    """
    if not candidates:
        return None, []
    started = time.monotonic()
    results: dict[str, tuple[Detection | None, ProbeTiming]] = {}
    done, lock = threading.Event(), threading.Lock()
    pending = [p.name for p in candidates]
    # Even a single candidate runs in a thread, so that a hung socket cannot outlive the deadline.
    for provider in candidates:
        threading.Thread(target=_probe, args=(provider, deadline, facts, results, done, lock, pending),
                         name=f"carbon-detect-{provider.name}", daemon=True).start()
    done.wait(timeout=deadline.remaining() + 0.05)
    with lock:
        snapshot = dict(results)
    timings = [snapshot[p.name][1] if p.name in snapshot
               else ProbeTiming(p.name, time.monotonic() - started, "timed out") for p in candidates]
    for provider in candidates:
        found = snapshot.get(provider.name, (None, None))[0]
        if found is not None:
            return found, timings
    return None, timings


def detect_environment(deadline_s: float | None = None, *, region: str | None = None,
                       environ: Mapping[str, str] | None = None,
                       providers: Sequence[Provider] | None = None) -> Detection | None:
    """Where and on what this process runs, within `deadline_s` (default: CARBON_DETECT_TIMEOUT or 1 s).

    Returns the cloud detection, else the on-premises one (provider None, region from `region`,
    CARBON_REGION or the config file); None only when no provider at all is installed.
    """
    started = time.monotonic()
    environ = dict(os.environ if environ is None else environ)
    if deadline_s is None:
        deadline_s = deadline_seconds(environ)
    deadline = Deadline.after(deadline_s)
    load_errors: list[str] = []
    if providers is None:
        loaded, load_errors = load_providers()
        providers = loaded
    facts = gather(environ)
    evidence = list(facts.evidence()) + [f"provider load error: {e}" for e in load_errors]
    clouds = [p for p in providers if p.name != FALLBACK_PROVIDER]
    verdicts = {p.name: _claim(p, facts) for p in clouds}
    claimed = [p for p in clouds if verdicts[p.name] is True]
    candidates = claimed or [p for p in clouds if verdicts[p.name] is None]
    if claimed:
        evidence.append(f"claimed from local facts by: {', '.join(p.name for p in claimed)}")
    elif candidates:
        evidence.append(f"local facts inconclusive; probing {', '.join(p.name for p in candidates)} concurrently")
    else:
        evidence.append("local facts rule out every cloud provider: no network call")
    found, timings = probe_all(candidates, deadline, facts)
    if found is None:
        fallback = next((p for p in providers if p.name == FALLBACK_PROVIDER), None)
        if fallback is None:
            return None
        probe_started = time.monotonic()
        try:
            found = fallback.detect(deadline, facts, region=region) if region else fallback.detect(deadline, facts)
            outcome = "detected" if found is not None else "not detected"
        except Exception as error:  # e.g. a broken config file: say so rather than crash the tracker
            found, outcome = None, f"error: {type(error).__name__}: {error}"
        timings.append(ProbeTiming(fallback.name, time.monotonic() - probe_started, outcome))
        if found is None:
            return None
    return found.with_timing(time.monotonic() - started, tuple(timings), tuple(evidence))


def _claim(provider: Provider, facts: HostFacts) -> bool | None:
    try:
        return provider.claims(facts)
    except Exception:  # a plug-in that cannot judge local facts is probed instead
        return None
