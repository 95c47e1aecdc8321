"""The reference pharmacy's starting catalogue and stock: the same as the demo's (harness/seed.py)."""

from __future__ import annotations

from collections.abc import Mapping

from lambdas.domain.rules import CatalogueEntry

CATALOGUE: Mapping[str, CatalogueEntry] = {
    entry.medication_id: entry
    for entry in (
        CatalogueEntry("med-1", 3),
        CatalogueEntry("med-2", 2),
        CatalogueEntry("med-3", 6),
        CatalogueEntry("med-4", 3),
        CatalogueEntry("med-scarce", 5),
    )
}
"""medication id -> its per-prescription maximum; `med-scarce` is catalogued without stock."""

STOCK: Mapping[str, int] = {"med-1": 500, "med-2": 500, "med-3": 500, "med-4": 500, "med-scarce": 0}
"""medication id -> units available to reserve."""
