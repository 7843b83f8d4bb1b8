"""``GateSettings``: everything a site configures on ``CookieGate`` besides its keys and policy, validated once."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, TypedDict

from cookiegate.minors import MinorHook
from cookiegate.retention import validate_retention_months


class GateOptions(TypedDict, total=False):
    """The keyword arguments ``CookieGate`` accepts, each a ``GateSettings`` field of the same name."""

    prefix: str
    data_dir: str | Path
    access_log: bool
    access_log_url: str | None
    ledger_url: str | None
    retention_months: int
    trusted_proxies: Iterable[str]
    cookie_domains: Iterable[str]
    is_minor: MinorHook | None
    child_directed: bool | None
    inject_banner: bool
    expire_blocked: bool
    marketing_params: Iterable[str] | None


@dataclass(frozen=True, slots=True)
class GateSettings:
    """How a site runs the gate. Raises ValueError naming the fix for anything it cannot use.

    - ``prefix``: where the consent API and banner files live (``/_cookiegate``).
    - ``data_dir``, ``access_log``, ``access_log_url``, ``ledger_url``, ``retention_months``: the stores.
    - ``trusted_proxies``: CIDRs whose forwarding headers name the client (the statutory log's address).
    - ``cookie_domains``: parent domains scripts set cookies for, so blocked ones are expired there too.
    - ``is_minor(scope)``, ``child_directed``: who counts as under 14 (``child_directed``: everyone).
    - ``inject_banner``, ``expire_blocked``: whether HTML pages get the banner, blocked cookies an expiry.
    - ``marketing_params``: query parameters cut for minors (default: the policy's list).
    """

    prefix: str = "/_cookiegate"
    data_dir: str | Path = Path("./cookiegate-data")
    access_log: bool = True
    access_log_url: str | None = None
    ledger_url: str | None = None
    retention_months: int = 3
    trusted_proxies: tuple[str, ...] = ()
    cookie_domains: tuple[str, ...] = ()
    is_minor: MinorHook | None = field(default=None, compare=False)
    child_directed: bool | None = None
    inject_banner: bool = True
    expire_blocked: bool = True
    marketing_params: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        validate_retention_months(self.retention_months)
        prefix = self.prefix
        if not prefix.startswith("/") or prefix.endswith("/") or len(prefix) < 2:
            raise ValueError(f"prefix must look like '/_cookiegate' (leading slash, no trailing), not {prefix!r}")
        # Accept any iterable (a list from a config file) but keep an immutable, hashable copy.
        object.__setattr__(self, "data_dir", Path(self.data_dir))
        object.__setattr__(self, "trusted_proxies", tuple(self.trusted_proxies))
        object.__setattr__(self, "cookie_domains", tuple(self.cookie_domains))
        if self.marketing_params is not None:
            object.__setattr__(self, "marketing_params", tuple(self.marketing_params))

    @classmethod
    def build(cls, base: GateSettings | None, options: GateOptions) -> GateSettings:
        """``base`` (or the defaults) with ``options`` laid over it; unknown names raise TypeError."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(options) - known)
        if unknown:
            raise TypeError(f"CookieGate got unknown option(s) {unknown}; known: {sorted(known)}")
        values: dict[str, Any] = {f.name: getattr(base, f.name) for f in fields(cls)} if base else {}
        values.update(options)
        return cls(**values)
