"""The metering model gateway: the model APIs assistants speak, served per run on loopback.

``gateway`` (the Gateway, one per run), ``server`` (HTTP, the token), one module per client dialect
(``dialect_chat``, ``dialect_responses``, ``dialect_anthropic``), ``translate`` (the upstream body),
``upstream`` (forwarding through the model's provider, retries), ``exchange`` (a reply on its way to
the client), ``repair`` (tool calls written as text), ``meter`` (what was measured). See docs/GATEWAY.md.
"""

from __future__ import annotations

from benchtui.engine.gateway.gateway import Gateway
from benchtui.engine.gateway.meter import CallRecord, GatewayUsage

__all__ = ["CallRecord", "Gateway", "GatewayUsage"]
