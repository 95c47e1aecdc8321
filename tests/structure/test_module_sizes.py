"""No product module over 400 lines: a module is read top to bottom, and one that long does too much.

A module left longer is listed below with its reason; an entry that no longer applies fails too, so
the list stays true.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ("infra", "lambdas", "localcloud", "harness", "saga_cli", "saga_console", "pharmacy_reference")
MOST_LINES = 400

LEFT_LONGER = {
    "lambdas/domain/saga.py": "the saga aggregate: its commands and its fold read as one business process "
    "(STYLE.md's model code); mixins or a fold module apart would scatter it",
    "lambdas/domain/events.py": "the catalogue of the saga's domain events, one model each, read as the list "
    "of what can happen (`ev.X` everywhere); its envelope and registry are few lines beside them",
}


def _lines(path: Path) -> int:
    return len(path.read_text().splitlines())


def _modules() -> dict[str, int]:
    return {
        str(path.relative_to(ROOT)): _lines(path)
        for package in PRODUCT
        for path in sorted((ROOT / package).rglob("*.py"))
        if "__pycache__" not in path.parts
    }


def test_no_product_module_is_over_400_lines_unless_listed_with_its_reason() -> None:
    modules = _modules()
    assert len(modules) > 100, "the walk found the product's modules"
    too_long = {name: lines for name, lines in modules.items() if lines > MOST_LINES and name not in LEFT_LONGER}
    assert too_long == {}, f"split these modules (at most {MOST_LINES} lines each): {too_long}"


def test_every_module_left_longer_still_is() -> None:
    modules = _modules()
    stale = [name for name in LEFT_LONGER if modules.get(name, 0) <= MOST_LINES]
    assert stale == [], f"no longer over {MOST_LINES} lines (or gone): remove them from LEFT_LONGER"
