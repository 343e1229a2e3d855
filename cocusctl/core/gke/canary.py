"""Traffic by replica proportion: how many canary pods give a share, and which share a split gives.

Without a gateway, the Service balances over ready pods, so a track's share is its share of ready pods.
The stable Deployment keeps its replicas (the HPA owns them) and the canary is sized beside it, as Cloud
Deploy's service-networking canary does with pod over-provisioning: `ceil(p·R / (100 − p))` pods.
"""

from __future__ import annotations

import math


def canary_replicas(percent: int, stable_replicas: int) -> int:
    """Canary pods beside `stable_replicas` stable ones for about `percent` % of the traffic (1 ≤ percent < 100)."""
    if not 0 < percent < 100:
        raise ValueError(f"a canary share is between 1 and 99 %, not {percent}")
    return max(1, math.ceil(percent * max(stable_replicas, 1) / (100 - percent)))


def share(canary: int, stable: int) -> int:
    """The canary's share of ready pods, in whole percent."""
    total = canary + stable
    return round(100 * canary / total) if total else 0
