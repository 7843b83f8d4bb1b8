"""What ``export`` and ``rights`` share: the permit options, the key ring, where plain-text files may go."""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path

from cookiegate.clock import parse_moment
from cookiegate.keyfile import configured_keyring
from cookiegate.records.permit import Permit
from cookiegate.records.sealing import RecordSealer


def permit_options(parser: argparse.ArgumentParser) -> None:
    """The permit's details (통신비밀보호법 제13조) and who runs the export, all required."""
    parser.add_argument("--court", default="", help="the court that issued the permit (required)")
    parser.add_argument("--permit-date", type=date.fromisoformat, help="YYYY-MM-DD the permit was issued (required)")
    parser.add_argument("--scope-from", help="first day (or ISO time) the permit covers (required)")
    parser.add_argument("--scope-to", help="last day (inclusive) or exclusive ISO time the permit covers (required)")
    parser.add_argument("--scope-ip", action="append", default=[], help="an address or CIDR the permit names")
    operator_options(parser)


def operator_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--operator", default="", help="who runs this (recorded with every read)")
    parser.add_argument("--reason", default="", help="why (recorded with every read)")


def permit_from(args: argparse.Namespace) -> Permit:
    """The permit the options describe; ValueError naming what is missing (통신비밀보호법 제13조)."""
    needed = ("permit", "agency", "court", "permit_date", "scope_from", "scope_to", "operator", "reason")
    missing = [f"--{name.replace('_', '-')}" for name in needed if not getattr(args, name)]
    if missing or not args.scope_ip:
        raise ValueError(
            f"refused: a disclosure needs the court permit's details: {' '.join(missing) or '--scope-ip'} "
            "(통신비밀보호법 제13조: access records are disclosed only against a permit, within its scope)"
        )
    return Permit(
        number=args.permit,
        court=args.court,
        issued=args.permit_date,
        agency=args.agency,
        scope_from_ms=parse_moment(args.scope_from),
        scope_to_ms=parse_moment(args.scope_to, end=True),
        scope_addresses=tuple(args.scope_ip),
        operator=args.operator,
    )


def permit_detail(permit: Permit, sealer: RecordSealer | None) -> dict[str, object]:
    """The staff-log detail of a disclosure; the permit's addresses are sealed when keys are configured."""
    addresses = [a if sealer is None else sealer.cipher.seal(a) for a in permit.scope_addresses]
    return {"permit": permit.describe(), "agency": permit.agency, "scope_from_ms": permit.scope_from_ms,
            "scope_to_ms": permit.scope_to_ms, "scope_addresses": addresses}  # fmt: skip


def sealer_for(data_dir: Path) -> RecordSealer | None:
    keys = configured_keyring(data_dir)
    return None if keys is None else RecordSealer(keys)


def refuse_inside_data_dir(out: Path, data_dir: Path) -> None:
    """A plain-text export must not land in the data dir, where everything else is sealed (제29조)."""
    resolved, data = out.resolve(), data_dir.resolve()
    if data in resolved.parents:
        raise ValueError(f"--out {out} is inside the data dir {data_dir}; write the export elsewhere")
