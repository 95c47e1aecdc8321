"""`saga inventory set` sets stock only for a medication the catalogue lists, unless told to add it."""

from __future__ import annotations

from typer.testing import CliRunner

from harness import seed
from harness.inprocess import InProcess
from harness.orders import UNKNOWN, order
from saga_cli.main import app

runner = CliRunner()


def test_a_medication_not_in_the_catalogue_is_refused_and_no_stock_is_created(cloud: InProcess) -> None:
    before = seed.stock(cloud)
    result = runner.invoke(app, ["inventory", "set", UNKNOWN, "10"])
    assert result.exit_code == 2, result.output
    said = " ".join(result.output.split())
    assert f"'{UNKNOWN}' is not in the catalogue" in said
    assert "--add-to-catalogue" in said
    assert seed.stock(cloud) == before, "nothing was set"


def test_added_to_the_catalogue_with_its_stock_it_can_be_ordered(cloud: InProcess) -> None:
    added = ["inventory", "set", "med-new", "10", "--add-to-catalogue", "Ibuprofen 400 mg", "--max-per-prescription"]
    result = runner.invoke(app, [*added, "2"])
    assert result.exit_code == 0, result.output
    assert seed.stock(cloud)["med-new"] == (10, 0)
    assert seed.in_catalogue(cloud, "med-new")
    cloud.put_order(order("inv-new", {"medication_id": "med-new", "quantity": 2}))
    assert cloud.wait_for_sagas(["inv-new"]) == {"inv-new": "COMPLETED"}


def test_a_medication_in_the_catalogue_is_set_as_before(cloud: InProcess) -> None:
    result = runner.invoke(app, ["inventory", "set", "med-scarce", "3"])
    assert result.exit_code == 0, result.output
    assert seed.stock(cloud)["med-scarce"] == (3, 0)


def test_half_an_addition_is_refused() -> None:
    for args in (["--add-to-catalogue", "Ibuprofen"], ["--max-per-prescription", "2"]):
        result = runner.invoke(
            app, ["inventory", "set", "med-new", "1", *args], env={"AWS_ENDPOINT_URL": "http://127.0.0.1:9"}
        )
        assert result.exit_code == 2, result.output
        assert "Traceback" not in result.output
