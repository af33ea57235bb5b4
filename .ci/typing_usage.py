"""Type-checked, never run: the public API as a type checker sees it (`.ci/typecheck` checks it).

If a public name fell back to `Any` (lazy loading without the TYPE_CHECKING declarations, or
`track(**options: Any)` without TrackOptions' parameters), an `assert_type` below fails, or an
ignore becomes unused, and the type check fails.
"""

from typing_extensions import assert_type  # typing has it from Python 3.11; this file is never run

import carbon

tracker = carbon.Tracker(region="FR", interval_s=5.0)
assert_type(tracker, carbon.Tracker)
assert_type(tracker.options, carbon.TrackOptions)
assert_type(carbon.track(project="p"), carbon.Tracker)
assert_type(carbon.estimate("FR", energy_kwh=1.0), carbon.Estimate)
carbon.track(region=1)  # type: ignore[arg-type]  # a typo'd type must be caught
carbon.Tracker(regoin="FR")  # type: ignore[call-arg]  # and a typo'd option
assert issubclass(carbon.UserInputError, carbon.CarbonError)
