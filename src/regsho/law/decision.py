"""What the gate returns: an immutable decision that explains itself (DESIGN principle 7).

The records live in ``regsho.core.records``; this module keeps the names the gate has always used.
"""

from __future__ import annotations

from regsho.core.records import ACCEPT as ACCEPT
from regsho.core.records import REJECT as REJECT
from regsho.core.records import Consumption as Consumption
from regsho.core.records import Decision as Decision
