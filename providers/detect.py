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
from collections.abc import Callable, Mapping, Sequence
from typing import Generic, TypeVar

from carbon.providers.base import FALLBACK_PROVIDER, Deadline, Detection, ProbeTiming, Provider, load_providers
from carbon.providers.host import HostFacts, gather

from carbon.errors import CarbonError

T = TypeVar("T")
# Time kept at the end of the deadline to collect the probes' answers.
SETTLE_S = 0.02


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


def _probe(
    provider: Provider,
    deadline: Deadline,
    facts: HostFacts,
    results: dict[str, tuple[Detection | None, ProbeTiming]],
    done: threading.Event,
    lock: threading.Lock,
    pending: list[str],
) -> None:
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


def probe_all(
    candidates: Sequence[Provider], deadline: Deadline, facts: HostFacts
) -> tuple[Detection | None, list[ProbeTiming]]:
    """Run the candidates' `detect` concurrently; the first in candidate order that detects wins.

    Returns as soon as every probe ended or one detected, and by the deadline at the latest.
    """
    if not candidates:
        return None, []
    started = time.monotonic()
    # Probes give up a little before the deadline, so that a probe that ends with a partial answer
    # (DMI says AWS, IMDS hung) is still collected, and collecting fits inside the deadline.
    margin = min(SETTLE_S, deadline.remaining() / 10)
    probe_deadline = Deadline(deadline.at - margin)
    wait_until = Deadline(deadline.at - margin / 4)
    results: dict[str, tuple[Detection | None, ProbeTiming]] = {}
    done, lock = threading.Event(), threading.Lock()
    pending = [p.name for p in candidates]
    # Even a single candidate runs in a thread, so that a hung socket cannot outlive the deadline.
    for provider in candidates:
        threading.Thread(
            target=_probe,
            args=(provider, probe_deadline, facts, results, done, lock, pending),
            name=f"carbon-detect-{provider.name}",
            daemon=True,
        ).start()
    done.wait(timeout=wait_until.remaining())
    with lock:
        snapshot = dict(results)
    timings = [
        snapshot[p.name][1] if p.name in snapshot else ProbeTiming(p.name, time.monotonic() - started, "timed out")
        for p in candidates
    ]
    for provider in candidates:
        found = snapshot.get(provider.name, (None, None))[0]
        if found is not None:
            return found, timings
    return None, timings


class _Background(Generic[T]):
    """A function started in a daemon thread now, whose result is collected only if needed."""

    def __init__(self, function: Callable[[], T]) -> None:
        self._result: list[T] = []
        self._thread = threading.Thread(
            target=lambda: self._result.append(function()), daemon=True, name="carbon-detect-local"
        )
        self._thread.start()

    def result(self) -> T:
        self._thread.join()
        return self._result[0]


def detect_environment(
    deadline_s: float | None = None,
    *,
    region: str | None = None,
    environ: Mapping[str, str] | None = None,
    providers: Sequence[Provider] | None = None,
) -> Detection | None:
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
    fallback = next((p for p in providers if p.name == FALLBACK_PROVIDER), None)

    def local() -> tuple[Detection | None, ProbeTiming] | None:
        if fallback is None:
            return None
        local_started = time.monotonic()
        try:
            answer = (
                # the on-prem fallback also takes the configured region; the Provider protocol does not
                fallback.detect(deadline, facts, region=region)  # type: ignore[call-arg]
                if region
                else fallback.detect(deadline, facts)
            )
            outcome = "detected" if answer is not None else "not detected"
        except CarbonError as error:  # e.g. a broken config file: say so rather than crash the tracker
            answer, outcome = None, f"error: {type(error).__name__}: {error}"
        return answer, ProbeTiming(fallback.name, time.monotonic() - local_started, outcome)

    # When the probes are expected to wait on silent endpoints (no provider claimed the machine), the
    # local description is made meanwhile, in its own thread, so that it adds nothing to the wait and
    # is abandoned if a cloud answers. A fallback that needs the network (opt-in geo-IP) runs after.
    early = bool(candidates) and not claimed and not _uses_network(fallback, facts)
    background = _Background(local) if early else None
    found, timings = probe_all(candidates, deadline, facts)
    if found is None:
        side = background.result() if background is not None else local()
        if side is None or side[0] is None:
            return None
        found = side[0]
        timings.append(side[1])
    return found.with_timing(time.monotonic() - started, tuple(timings), tuple(evidence))


def _uses_network(provider: Provider | None, facts: HostFacts) -> bool:
    """Capability check: a provider may say that its `detect` would call the network for these facts."""
    check = getattr(provider, "uses_network", None)
    try:
        return bool(check(facts)) if check is not None else False
    except Exception:  # cannot tell: assume it does, and run it after the probes
        return True


def _claim(provider: Provider, facts: HostFacts) -> bool | None:
    try:
        return provider.claims(facts)
    except Exception:  # a plug-in that cannot judge local facts is probed instead
        return None
