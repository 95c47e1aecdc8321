"""`saga inventory show|set`: the stock per medication, and the catalogue entry a new one needs."""

from __future__ import annotations

from typing import Annotated

import typer

from saga_cli import render
from saga_cli.command import JsonFlag, operation, target
from saga_cli.errors import Refused


@operation
def inventory_show(as_json: JsonFlag = False) -> None:
    """Stock per medication: available and reserved."""
    from harness import seed

    stock = seed.stock(target())
    if as_json:
        render.emit_json({m: {"available": a, "reserved": r} for m, (a, r) in stock.items()})
    else:
        render.stock(stock)


@operation
def inventory_set(
    medication_id: str,
    quantity: Annotated[int, typer.Argument(min=0)],
    add_to_catalogue: Annotated[
        str | None,
        typer.Option(
            "--add-to-catalogue",
            metavar="NAME",
            help="A medication not in the catalogue: add it under this name (with --max-per-prescription).",
        ),
    ] = None,
    max_per_prescription: Annotated[
        int | None, typer.Option(min=1, help="With --add-to-catalogue: the most one prescription may ask for.")
    ] = None,
) -> None:
    """Set a medication's available stock (what is reserved stays reserved).

    A medication the catalogue does not list is refused: no order could be prescribed it, so its stock
    would never move. --add-to-catalogue adds it first."""
    from harness import seed

    if add_to_catalogue is not None:
        if max_per_prescription is None or not add_to_catalogue.strip():
            raise Refused("--add-to-catalogue takes a name, and needs --max-per-prescription")
        seed.add_to_catalogue(target(), medication_id, add_to_catalogue.strip(), max_per_prescription)
    elif max_per_prescription is not None:
        raise Refused("--max-per-prescription goes with --add-to-catalogue")
    elif not seed.in_catalogue(target(), medication_id):
        raise Refused(
            f"'{medication_id}' is not in the catalogue, so no order could be prescribed it: nothing set "
            "(to add it: --add-to-catalogue NAME --max-per-prescription N)"
        )
    seed.set_stock(target(), medication_id, quantity)
    render.stock_set(medication_id, quantity)
