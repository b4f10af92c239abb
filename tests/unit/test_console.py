"""The console's pure parts: sign-in cookies and CSRF tokens, the events its forms make, its tables,
the pages of its queues; and its command's errors."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from pydantic import SecretStr, TypeAdapter
from typer.testing import CliRunner

from schemas.events import AnyInputEvent
from schemas.fx import FxRates
from streams.cli.commands import app
from streams.console import auth
from streams.console.actions import ACTIONS, ActionError, review_event
from streams.console.analytics import sample
from streams.console.audit import parse_range
from streams.console.paging import PageError, Paging, page_number
from streams.console.tables import (
    NO_RATES,
    csv_text,
    customer_row,
    totals_table,
    worklist_table,
)

NOW = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
DASH = "\N{EN DASH}"
TARGETS = {"case_id": "k-1", "decision_id": "d-1", "order_id": "o-1", "action_id": "p-1"}


def form(**fields: str) -> dict[str, str]:
    return {"customer_id": "c-1", "nonce": "n-1", **TARGETS, **fields}


def test_a_signin_cookie_is_signed_with_the_token_and_ends_when_the_token_changes():
    key = auth.signing_key(SecretStr("the-first-token-of-16"))
    cookie = auth.signin_cookie(key, "ana.k")
    assert auth.cookie_actor(key, cookie) == "ana.k"
    assert auth.cookie_actor(auth.signing_key(SecretStr("the-other-token-of-16")), cookie) is None
    forged = auth.signin_cookie(auth.signing_key(SecretStr("a-guessed-token-of-16")), "boss")
    assert auth.cookie_actor(key, forged) is None
    # Another person's CSRF token does not pass for this one.
    other = auth.signin_cookie(key, "bo.r")
    assert not auth.checked_csrf(key, cookie, auth.csrf_token(key, other))
    assert not auth.checked_csrf(key, cookie, "")


def test_without_a_token_signin_cookies_last_as_long_as_the_process():
    assert auth.signing_key(None) != auth.signing_key(None)
    assert auth.token_matches(None, "")
    assert not auth.token_matches(SecretStr("the-first-token-of-16"), "the-first-token-of-1")


@pytest.mark.parametrize(
    ("action", "fields", "expected"),
    [
        ("acknowledge", {}, {"type": "case.acknowledged", "case_id": "k-1"}),
        ("assign", {"assignee": "bo.r"}, {"type": "case.assigned", "assignee": "bo.r"}),
        ("snooze", {"days": "7"}, {"type": "case.snoozed", "until": "2026-03-08T09:30:00Z"}),
        ("resolve", {"note": " paid in full "}, {"type": "case.resolved", "note": "paid in full"}),
        ("release", {}, {"type": "order.released", "decision_id": "d-1", "order_id": "o-1"}),
        ("reject", {"note": "fraud"}, {"type": "order.rejected", "note": "fraud"}),
        ("accept", {}, {"type": "proposal.accepted", "action_id": "p-1"}),
        ("decline", {}, {"type": "proposal.declined", "action_id": "p-1"}),
    ],
)
def test_each_action_is_its_review_event_as_a_worker_reads_it(action, fields, expected):
    event = review_event(action, form(**fields), "ana.k", NOW)
    document = event.model_dump(mode="json")
    assert {name: document[name] for name in expected} == expected
    assert (document["actor"], document["customer_id"]) == ("ana.k", "c-1")
    assert TypeAdapter(AnyInputEvent).validate_json(event.model_dump_json()) == event


def test_the_same_form_sent_twice_is_one_event_and_another_form_another():
    first = review_event("acknowledge", form(), "ana.k", NOW)
    again = review_event("acknowledge", form(), "ana.k", NOW.replace(minute=31))
    other = review_event("acknowledge", form(nonce="n-2"), "ana.k", NOW)
    assert first.event_id == again.event_id != other.event_id


@pytest.mark.parametrize(
    ("action", "fields", "actor", "problem"),
    [
        ("resolve", {"note": "  "}, "ana.k", "note: a resolution needs a note"),
        ("snooze", {"days": "2"}, "ana.k", "days: one of 1, 3, 7, 14, 30, not '2'"),
        ("assign", {"assignee": ""}, "ana.k", "assignee: String should have at least 1"),
        ("assign", {"assignee": "bo\tr"}, "ana.k", "assignee: String should match pattern"),
        ("release", {"order_id": ""}, "ana.k", "order_id: String should have at least 1"),
        ("acknowledge", {"nonce": ""}, "ana.k", "nonce: the form is incomplete"),
        ("acknowledge", {"note": "x" * 2001}, "ana.k", "note: String should have at most 2000"),
        ("escalate", {}, "ana.k", "action: one of acknowledge, assign"),
        ("acknowledge", {}, "a" * 101, "actor: String should have at most 100"),
    ],
)
def test_a_form_that_makes_no_valid_event_says_why(action, fields, actor, problem):
    with pytest.raises(ActionError, match=f"^{problem}"):
        review_event(action, form(**fields), actor, NOW)


def test_every_review_event_of_the_contract_has_an_action():
    assert {contract.model_fields["type"].default for contract, _ in ACTIONS.values()} == {
        "case.acknowledged", "case.assigned", "case.snoozed", "case.resolved",
        "order.released", "order.rejected", "proposal.accepted", "proposal.declined",
    }  # fmt: skip


def customers():
    return [
        customer_row("a", {"currency": "EUR", "exposure": "0.10", "overdue_balance": "0.10",
                           "tier": "low", "score": "10"}),
        customer_row("b", {"currency": "EUR", "exposure": "0.20", "overdue_balance": "0",
                           "tier": "low", "score": "5"}),
        customer_row("c", {"currency": "JPY", "exposure": "1000", "overdue_balance": "900",
                           "tier": "high", "score": "90"}),
    ]  # fmt: skip


def test_totals_are_exact_and_one_row_per_currency():
    by_currency = totals_table("currencies", customers(), by_tier=False)
    assert [(row["currency"], row["exposure"], row["overdue"]) for row in by_currency.rows] == [
        ("EUR", Decimal("0.30"), Decimal("0.10")), ("JPY", Decimal("1000"), Decimal("900"))
    ]  # fmt: skip
    by_tier = totals_table("tiers", customers(), by_tier=True)
    assert [(row["tier"], row["currency"]) for row in by_tier.rows] == [
        ("high", "JPY"), ("low", "EUR")
    ]  # fmt: skip


def test_the_worklist_leaves_out_customers_with_nothing_overdue():
    table = worklist_table(customers(), {"a": 0.5})
    assert [(row["customer_id"], row["expected_loss"]) for row in table.rows] == [
        ("c", Decimal("810.00")), ("a", Decimal("0.05"))
    ]  # fmt: skip


def test_csv_cells_a_spreadsheet_would_run_are_quoted_as_text():
    rows = [customer_row("=cmd|' /C calc'!A0", {"currency": "EUR", "exposure": "1.50"})]
    lines = csv_text(totals_table("x", rows, by_tier=True)).splitlines()
    assert lines[1] == "unscored,EUR,1,1.50,0,"
    table = worklist_table(
        [customer_row("@SUM(1)", {"overdue_balance": "1", "currency": "EUR"})], {}
    )
    assert csv_text(table).splitlines()[1].startswith("'@SUM(1),EUR,1,")


def test_the_console_beyond_loopback_without_a_token_stops_with_one_line(monkeypatch):
    monkeypatch.delenv("RISKSTREAM_API_TOKEN", raising=False)
    monkeypatch.delenv("RISKSTREAM_DEVELOPMENT", raising=False)
    result = CliRunner().invoke(app, ["console", "--bind", "0.0.0.0"])
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("riskstream: bad setting RISKSTREAM_API_TOKEN: not set")
    assert result.stderr.count("\n") == 1
    result = CliRunner().invoke(app, ["console", "--port", "0"])
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("riskstream: --port: 0 is not a port: use 1 to 65535")


def test_totals_convert_only_what_has_a_rate_exactly_and_name_the_rates():
    fx = FxRates(version="fx-7", reporting="EUR", rates={"USD": Decimal("0.1")})
    rows = [
        customer_row("a", {"currency": "USD", "exposure": "0.20", "overdue_balance": "0.10"}),
        customer_row("b", {"currency": "USD", "exposure": "0.10", "overdue_balance": "0"}),
        customer_row("c", {"currency": "GBP", "exposure": "5.00", "overdue_balance": "5.00"}),
        customer_row("d", {"currency": "EUR", "exposure": "1.00", "overdue_balance": "0"}),
    ]
    table = totals_table("currencies", rows, by_tier=False, fx=fx)
    assert [(row["currency"], row["customers"], row["exposure"], row["overdue"], row["rates"])
            for row in table.rows] == [
        ("EUR", 3, Decimal("1.03"), Decimal("0.01"), "fx-7"),
        ("GBP", 1, Decimal("5.00"), Decimal("5.00"), ""),
    ]  # fmt: skip


def test_the_risk_index_weighs_scores_by_exposure_in_one_currency_at_a_time():
    fx = FxRates(version="fx-1", reporting="EUR", rates={"USD": Decimal("2")})
    rows = [
        customer_row("a", {"currency": "EUR", "exposure": "100", "score": "90", "dso": "10"}),
        customer_row("b", {"currency": "USD", "exposure": "150", "score": "10"}),
        customer_row("c", {"currency": "EUR", "exposure": "0", "score": "99"}),
        customer_row("d", {"currency": "CHF", "exposure": "10", "score": "70"}),
    ]
    groups = sample(rows, fx, "2026-03-01T00:00:00Z")["groups"]
    # (100 x 90 + 300 x 10) / 400; c weighs nothing; CHF has no rate: a group of its own.
    assert groups["EUR"] == {"customers": 3, "exposure": "400", "risk_index": 30.0, "dso": 10.0}
    assert groups["CHF"]["risk_index"] == 70.0
    assert sample(rows, NO_RATES, "t")["groups"].keys() == {"EUR", "USD", "CHF"}


@pytest.mark.parametrize(
    ("query", "problem"),
    [({"from": "yesterday"}, "from and to are days, like 2026-03-01"),
     ({"from": "2026-03-02", "to": "2026-03-01"}, "the range ends before it starts")],
)  # fmt: skip
def test_an_audit_range_that_is_not_one_is_refused_in_one_line(query, problem):
    with pytest.raises(ValueError, match=problem):
        parse_range(query)
    assert parse_range({}, today=date(2026, 3, 31))[0] == datetime(2026, 3, 2, tzinfo=UTC)


def test_a_page_number_is_a_whole_number_from_1_and_1_without_one():
    assert page_number({}) == 1
    assert page_number({"page": "2"}) == 2
    assert page_number({"reviews": "07"}, "reviews") == 7


@pytest.mark.parametrize("text", ["abc", "0", "-1", "", "1.5", " 2", "+2", "\u0662", "9" * 5000])
def test_a_page_number_that_is_not_one_is_refused_in_one_line(text):
    with pytest.raises(PageError, match=r"^page must be a whole number from 1, not '") as refused:
        page_number({"page": text})
    assert len(str(refused.value)) < 80


@pytest.mark.parametrize(
    ("number", "total", "text", "previous", "next"),
    [(1, 1234, f"rows 1{DASH}200 of 1,234", None, 2),
     (2, 1234, f"rows 201{DASH}400 of 1,234", 1, 3),
     (7, 1234, f"rows 1,201{DASH}1,234 of 1,234", 6, None),
     (2, 400, f"rows 201{DASH}400 of 400", 1, None),
     (1, 12, f"rows 1{DASH}12 of 12", None, None),
     (9, 1234, "no rows on page 9: the last page is 7", 7, None),
     (3, 0, "no rows on page 3: the last page is 1", 1, None)],
)  # fmt: skip
def test_a_page_says_which_rows_it_shows_of_how_many_and_links_its_neighbours(
    number, total, text, previous, next
):
    paging = Paging(number, total, size=200)
    assert (paging.text, paging.previous, paging.next) == (text, previous, next)
    assert paging.beyond == text.startswith("no rows")


def test_an_empty_queue_has_one_page_with_no_row_and_no_neighbour():
    paging = Paging(1, 0, size=200)
    assert (paging.last_page, paging.beyond, paging.previous, paging.next) == (1, False, None, None)
