"""Reading a callgrind output file: its totals, each function's own costs, and the calls into each function.

One reader for ``instructions.py`` (instructions, and calls into CPython's type-cache fallback) and
``stalls.py`` (misses and mispredicts per function). Names are compressed in the file: ``fn=(id) name`` or
``cfn=(id) name`` the first time, ``(id)`` after; each ``calls=N …`` line belongs to the ``cfn`` before it, and
the cost line after it is that call's inclusive cost, charged to the callee.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

_NAMED: Final = re.compile(r"\((\d+)\)(?: (.*))?")


@dataclass
class Costs:
    """One callgrind dump: event names, totals, each function's own (exclusive) costs, calls per callee."""

    events: list[str] = field(default_factory=list)
    totals: dict[str, int] = field(default_factory=dict)
    #: By function, recursion suffixes (``'2``) folded into one name; values in ``events`` order.
    functions: dict[str, list[int]] = field(default_factory=dict)
    #: Calls recorded into each callee, by its name exactly as the file gives it.
    calls: dict[str, int] = field(default_factory=dict)


def read_costs(lines: Iterable[str]) -> Costs:
    """The ``Costs`` of a callgrind file given as lines (the ``summary:`` totals, else the first ``totals:``)."""
    costs = Costs()
    names: dict[str, str] = {}
    current = callee = ""
    call_cost_next = False
    for raw in lines:
        line = raw.rstrip("\n")
        if line.startswith("events:"):
            costs.events = line.split()[1:]
        elif line.startswith("summary:") or (line.startswith("totals:") and not costs.totals):
            costs.totals = dict(zip(costs.events, (int(v) for v in line.split()[1:]), strict=False))
        elif line.startswith("fn="):
            current = re.sub(r"'\d+$", "", _name(line[3:], names))
        elif line.startswith("cfn="):
            callee = _name(line[4:], names)
        elif line.startswith("calls="):
            costs.calls[callee] = costs.calls.get(callee, 0) + int(line[6:].split()[0])
            call_cost_next = True
        elif line and (line[0].isdigit() or line[0] in "+-*"):
            if call_cost_next:  # the call's inclusive cost: the callee's, not this function's own
                call_cost_next = False
                continue
            own = costs.functions.setdefault(current, [0] * len(costs.events))
            for index, value in enumerate(line.split()[1:]):
                own[index] += int(value)
    return costs


def _name(reference: str, names: dict[str, str]) -> str:
    """The name a ``fn=``/``cfn=`` value stands for; a first ``(id) name`` defines the id for later lines."""
    reference = reference.strip()
    found = _NAMED.match(reference)
    if found is None:
        return reference
    if found.group(2) is not None:
        names[found.group(1)] = found.group(2)
    return names.get(found.group(1), reference)
