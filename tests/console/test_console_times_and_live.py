"""Issue 26 item 7 in a browser: times say UTC, event labels stay by their dots, counts say their age, a 503 shows."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait
from werkzeug.serving import make_server

from harness import queries
from harness.inprocess import InProcess
from saga_console.app import create_app
from saga_console.following import FollowedTarget, follow
from saga_console.serve import running
from tests.e2e.helpers import order

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import CreateTableInputTypeDef, GlobalSecondaryIndexTypeDef

TIME = re.compile(r"\b\d\d:\d\d(?::\d\d(?:\.\d+)?)?\b")
"""A time of day as a person reads it: 05:52, 05:52:39 or 05:52:39.123."""


def wait(browser: Any, timeout: float = 20) -> WebDriverWait[Any]:
    return WebDriverWait(browser, timeout, poll_frequency=0.1, ignored_exceptions=(StaleElementReferenceException,))


def text(browser: Any) -> str:
    return str(browser.find_element(By.TAG_NAME, "body").text)


def times_without_zone(page: str) -> list[str]:
    """Each time on `page` not followed by " UTC", with what follows it."""
    return [page[m.start() : m.end() + 8] for m in TIME.finditer(page) if not page[m.end() :].startswith(" UTC")]


@pytest.fixture
def lagging_console(cloud: InProcess) -> Iterator[str]:
    """The console over `cloud` counting its sagas once an hour, so that its counts lag its rows for sure."""
    app = follow(create_app(FollowedTarget(cloud), counts_seconds=3600))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    with running(server):
        yield f"http://127.0.0.1:{server.port}/console/"


@pytest.fixture
def server_in_india() -> Iterator[None]:
    """The console's process in a zone 5 h 30 ahead of UTC: a local time shown as UTC is then plainly wrong."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TZ", "Asia/Kolkata")
        time.tzset()
        try:
            yield
        finally:
            patch.undo()
            time.tzset()


def test_every_time_on_the_list_the_saga_and_the_operations_pages_says_utc_and_is_utc(
    cloud: InProcess, browser: Any, console_url: str, server_in_india: None
) -> None:
    # Given a saga, and a console whose process runs in India (TZ)
    cloud.put_order(order("zoned", "med-1"))
    cloud.wait_for_sagas(["zoned"])
    saga = cloud.projection().get("zoned")
    assert saga is not None

    # When the operator reads the list, the saga and the operations pages
    before = datetime.now(UTC).replace(microsecond=0)
    for page in ("sagas", "sagas/zoned", "operations"):
        browser.get(console_url + page)
        seen = text(browser)
        # Then every time on them says its zone
        assert TIME.search(seen), page
        assert times_without_zone(seen) == [], page
    after = datetime.now(UTC)

    # And the zone it says is the truth: the saga's row shows its last change in UTC
    browser.get(console_url + "sagas")
    row = browser.find_element(By.CSS_SELECTOR, 'tr[data-order="zoned"]').text
    assert f"{saga.updated_at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC" in row
    # and the counts' time is a moment between the first page and now, in UTC (not the server's local time)
    counted = re.search(r"counts as of (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC", text(browser))
    assert counted, text(browser)
    at = datetime.strptime(counted.group(1), "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    assert before <= at <= after


LABEL_GEOMETRY = """
const rows = document.querySelectorAll('#events tbody tr');
return Array.from(rows).map(row => {
  const cell = row.querySelector('td.bar-col');
  const dot = cell.querySelector('circle.dot').getBoundingClientRect();
  // the label is the cell's last words, whatever element holds them
  const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
  let label = null;
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (node.textContent.trim()) { label = node; }
  }
  const range = document.createRange();
  range.selectNodeContents(label);
  const lines = new Set(Array.from(range.getClientRects()).filter(r => r.width > 0).map(r => Math.round(r.top)));
  const box = range.getBoundingClientRect();
  return {label: label.textContent.trim(), lines: lines.size, labelMiddle: (box.top + box.bottom) / 2,
          dotMiddle: (dot.top + dot.bottom) / 2, labelLeft: box.left, dotLeft: dot.left};
});
"""


def received_hours_earlier(cloud: InProcess, order_id: str, hours: int) -> None:
    """The saga's first event stored as `hours` earlier than it happened: the offsets of all the others are
    then thousands of seconds, as for a saga that waited overnight for a pharmacist (the local cloud has
    no clock to move forward)."""
    first = queries.status(cloud, order_id).events[0]
    cloud.client("dynamodb").update_item(
        TableName=cloud.outputs["EventStoreTableName"],
        Key={"pk": {"S": first.stream_id}, "sk": {"N": str(first.version)}},
        UpdateExpression="SET occurred_at = :at",
        ExpressionAttributeValues={":at": {"S": (first.occurred_at - timedelta(hours=hours)).isoformat()}},
    )


@pytest.mark.parametrize("width", [1280, 800])
@pytest.mark.parametrize("hours", [0, 30])
def test_each_events_offset_label_stays_beside_its_dot_on_one_line(
    cloud: InProcess, browser: Any, console_url: str, width: int, hours: int
) -> None:
    # Given a saga with its events (offsets under a second, or over a day: "108000.12"), in a window `width` px wide
    cloud.put_order(order("labelled", "med-1", "med-scarce"))
    cloud.wait_for_sagas(["labelled"])
    if hours:
        received_hours_earlier(cloud, "labelled", hours)
    browser.set_window_size(width, 1000)
    try:
        browser.get(console_url + "sagas/labelled")
        rows = browser.execute_script(LABEL_GEOMETRY)
    finally:
        browser.set_window_size(1280, 1000)

    # Then each "+ s" label is one line, level with its dot (within a few px) and to its right
    assert rows
    for row in rows:
        assert re.fullmatch(r"\d+\.\d\d", row["label"]), row
        assert row["lines"] == 1, row
        assert abs(row["labelMiddle"] - row["dotMiddle"]) <= 4, row
        assert row["labelLeft"] > row["dotLeft"], row


def all_count(browser: Any) -> int:
    return int(browser.find_element(By.CSS_SELECTOR, '.filter[data-group="all"] b').text)


def test_the_lists_counts_say_how_old_they_are_when_they_lag_its_rows(
    cloud: InProcess, browser: Any, lagging_console: str
) -> None:
    # Given the list open on one saga
    cloud.put_order(order("counted-first", "med-1"))
    cloud.wait_for_sagas(["counted-first"])
    browser.get(lagging_console + "sagas")
    counted = all_count(browser)

    # When a new saga's row arrives by the live refresh before the counts are counted again
    cloud.put_order(order("counted-later", "med-1"))
    cloud.wait_for_sagas(["counted-later"])
    wait(browser).until(lambda b: b.find_elements(By.CSS_SELECTOR, 'tr[data-order="counted-later"]'))
    rows = len(browser.find_elements(By.CSS_SELECTOR, "#sagas tbody tr[data-order]"))
    assert all_count(browser) == counted < rows  # the lag itself: "all 1" above two rows

    # Then the page says the counts are as of an earlier moment than the rows, and may lag them
    said = browser.find_element(By.ID, "counts-as-of").text
    found = re.fullmatch(
        r"counts as of (\S+ \S+) UTC, recounted at most every 3600 s: "
        r"they may lag the rows below, read at (\S+ \S+) UTC",
        said,
    )
    assert found, said
    assert found.group(1) <= found.group(2)


NOTICE = "the local cloud does not answer; retrying"


@pytest.mark.parametrize("page", ["sagas", "sagas/followed"])
def test_a_failing_live_refresh_is_said_on_the_page_until_a_refresh_succeeds(
    cloud: InProcess, browser: Any, console_url: str, page: str
) -> None:
    # Given the list (or a saga's page) following its sagas live
    cloud.put_order(order("followed", "med-1"))
    cloud.wait_for_sagas(["followed"])
    browser.get(console_url + page)
    shown = browser.find_element(By.TAG_NAME, "h1").text if page != "sagas" else "followed"
    assert NOTICE not in text(browser).lower()

    # When the sagas' table is gone (the local cloud restarting): each refresh is answered 503
    dynamodb = cloud.client("dynamodb")
    table = cloud.outputs["SagaTableName"]
    described = dynamodb.describe_table(TableName=table)["Table"]
    dynamodb.delete_table(TableName=table)

    # Then the page says so, above what it still shows
    wait(browser).until(lambda b: NOTICE in text(b).lower())
    assert shown in text(browser)

    # And once the table is back, a refresh succeeds and the notice goes
    indexes: list[GlobalSecondaryIndexTypeDef] = [
        {"IndexName": i["IndexName"], "KeySchema": i["KeySchema"], "Projection": i["Projection"]}
        for i in described.get("GlobalSecondaryIndexes", [])
    ]
    again: CreateTableInputTypeDef = {
        "TableName": table,
        "KeySchema": described["KeySchema"],
        "AttributeDefinitions": described["AttributeDefinitions"],
        "BillingMode": "PAY_PER_REQUEST",
    }
    if indexes:
        again["GlobalSecondaryIndexes"] = indexes
    dynamodb.create_table(**again)
    wait(browser).until(lambda b: NOTICE not in text(b).lower())
    if page == "sagas":
        assert "no sagas" in text(browser)  # the refreshed rows: the new table is empty
