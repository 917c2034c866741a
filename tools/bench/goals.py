"""The goals of issue #12 for the critical path, in one place: the table prints each as met or not.

They hold against AWS-like round trips (``--rtt-ms 10``) on an idle machine; the table
reports them at every round trip measured, so the 0 ms rows show the emulator alone.
"""

from __future__ import annotations

from .report import at_least, at_most

INLINE_OVER_EVENT_DRIVEN_P50 = at_least(10)
INLINE_OVER_EVENT_DRIVEN_P99 = at_least(8)
HANDLER_OVER_FLOOR_P50 = at_most(1.05)
HANDLER_WITH_XRAY_OVER_FLOOR_P50 = at_most(1.3)
PUBLISH_OVER_RAW_P50 = at_most(1.05)
SINGLE_OVER_PUBLISH_MANY_PER_EVENT = at_least(5)
