"""The run report: a page a real browser renders offline, JSON that round-trips, JUnit CI reads."""

from __future__ import annotations

import json
import re
import shutil
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest
import xmlschema
from PIL import Image, ImageStat
from playwright.sync_api import Dialog, Page, Route, sync_playwright

from evals._report import ReportFiles, write_report
from evals._results import RunSummary, TagScore, TrialResult

JUNIT_XSD = Path(__file__).parent / "data" / "junit-10.xsd"
XSS = "<script>alert(1)</script>"
BOLD_TAG = "<b>vip</b>"
FIGURES = ("plot-accuracy-by-tag", "plot-pass-k", "plot-latency")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]

STATE_DIFF = {
    "orders": {
        "#W2000001": {
            "expected": {"status": "exchange requested", "items": ["shirt L"]},
            "actual": {"status": "delivered", "items": ["shirt M"]},
        }
    }
}


def _trial(scenario_id: str, trial: int, tags: list[str], **fields: object) -> TrialResult:
    base: dict[str, object] = {
        "scenario_id": scenario_id,
        "trial": trial,
        "tags": tags,
        "passed": True,
        "outcome": "resolved",
        "expected_outcome": "resolved",
        "checks": {"state": True, "outcome": True},
        "turns": 3,
        "latency_ms": 900.0 + 137.0 * trial + 11.0 * len(scenario_id),
        "transcript": [
            {"role": "customer", "text": "Hi, I need help with my order."},
            {"role": "agent", "text": "Sure, what is your email?"},
        ],
    }
    return TrialResult.model_validate(base | fields)


def _hand_made_trials() -> list[TrialResult]:
    """Four scenarios x 3 trials: one clean, one failing once, one failing twice, one erroring."""
    exchange = ["exchange", "orders", BOLD_TAG]
    refund = ["refund", "escalation"]
    wrong_refund = {
        "passed": False,
        "expected_outcome": "escalated",
        "checks": {"state": False, "outcome": False, "policy": False},
        "violations": ["refund_order ran without an allow decision"],
    }
    return [
        *(_trial("cancel-pending", k, ["cancel", "orders"]) for k in range(3)),
        _trial("exchange-size", 0, exchange),
        _trial(
            "exchange-size",
            1,
            exchange,
            passed=False,
            checks={"state": False, "outcome": True, "must_say": False, "must_not_call": False},
            state_diff=STATE_DIFF,
            missing_facts=["exchange confirmation number"],
            forbidden_calls=["cancel_pending_order"],
            transcript=[
                {"role": "customer", "text": f"I want a size L {XSS}"},
                {"role": "agent", "text": "Done: your order \x1b[31mwas\x00 updated & closed."},
            ],
            actions=[{"name": "cancel_pending_order", "args": {"order_id": "#W2000001"}}],
        ),
        _trial("exchange-size", 2, exchange),
        _trial("refund-over-limit", 0, refund, outcome="escalated", expected_outcome="escalated"),
        _trial("refund-over-limit", 1, refund, **wrong_refund),
        _trial("refund-over-limit", 2, refund, **wrong_refund),
        _trial("address-change", 0, ["address"]),
        _trial("address-change", 1, ["address"]),
        _trial(
            "address-change",
            2,
            ["address"],
            passed=False,
            outcome="error",
            checks={},
            error="TimeoutError: planner did not answer in 30 s\n  at step 4",
        ),
    ]


def _summary(trials: list[TrialResult], k: int = 3) -> RunSummary:
    passed = sum(t.passed for t in trials)
    tags: dict[str, list[bool]] = {}
    for t in trials:
        for tag in t.tags:
            tags.setdefault(tag, []).append(t.passed)
    scenarios = list(dict.fromkeys(t.scenario_id for t in trials))
    return RunSummary(
        run_id="run-2024-05-01-abc",
        created_at=datetime(2024, 5, 1, 12, 30, tzinfo=UTC),
        suite="evals/suites/retail.yaml",
        fingerprint={"planner": "scripted", "model": "gpt-test", "policy_pack": {"v": 3}},
        scenarios=len(scenarios),
        trials=k,
        accuracy=passed / len(trials),
        accuracy_ci=(0.39, 0.86),
        pass_hat_k={"1": 0.667, "2": 0.5, "3": 0.25},
        per_tag={
            tag: TagScore(trials=len(r), passed=sum(r), accuracy=sum(r) / len(r))
            for tag, r in tags.items()
        },
        violations=sum(len(t.violations) for t in trials),
        escalation_precision=1.0,
        escalation_recall=1 / 3,
        tool_errors=1,
        median_turns=3.0,
        tokens_per_resolved=1234.5,
        cost_per_resolved=0.0123,
        latency_p50_ms=1100.0,
        failed=sorted({t.scenario_id for t in trials if not t.passed}),
    )


@pytest.fixture
def trials() -> list[TrialResult]:
    return _hand_made_trials()


@pytest.fixture
def report(tmp_path: Path, trials: list[TrialResult]) -> ReportFiles:
    return write_report(tmp_path / "out" / "run", _summary(trials), trials)


@pytest.fixture
def page() -> Iterator[Page]:
    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail(
            "chromium not found on PATH: the report test needs a real browser "
            "(Debian/Ubuntu: apt-get install chromium)"
        )
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        # bypass_csp: the page's own CSP would block an external fetch before any request is
        # made; without it, the routing below proves the HTML references nothing external.
        context = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
        try:
            yield context.new_page()
        finally:
            context.close()
            browser.close()


def test_write_report_creates_the_folder_and_three_files(report: ReportFiles) -> None:
    assert report.html.name == "report.html"
    assert report.json.name == "summary.json"
    assert report.junit.name == "junit.xml"
    for path in (report.html, report.json, report.junit):
        assert path.is_file() and path.stat().st_size > 0
    assert report.html.parent == report.json.parent == report.junit.parent


def test_html_renders_offline_in_a_real_browser(
    report: ReportFiles, page: Page, tmp_path: Path
) -> None:
    url = report.html.resolve().as_uri()
    requested: list[str] = []
    dialogs: list[str] = []

    def only_the_page(route: Route) -> None:
        if route.request.url == url:
            route.continue_()
        else:
            route.abort()

    def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("request", lambda request: requested.append(request.url))
    page.on("dialog", on_dialog)
    page.route("**/*", only_the_page)
    page.goto(url, wait_until="load")

    assert dialogs == [], "a transcript's markup ran as a script"
    assert requested == [url], "the report must not fetch anything but itself"
    assert page.locator("script").count() == 0
    assert page.locator("#run").inner_text().count("run-2024-05-01-abc") == 1
    assert "gpt-test" in page.locator("#fingerprint").inner_text()
    headline = page.locator("#headline").inner_text()
    assert "66.7%" in headline and "39.0%" in headline and "86.0%" in headline

    for figure_id in FIGURES:
        svg = page.locator(f"figure#{figure_id} > svg")
        assert svg.count() == 1, figure_id
        box = svg.bounding_box()
        assert box is not None and box["width"] > 100 and box["height"] > 100, (figure_id, box)
        assert svg.locator("path").count() >= 10, figure_id
        assert svg.locator("use").count() > 0, f"{figure_id} has no text drawn"

    rows = page.locator("#scenarios tbody tr")
    assert rows.count() == 4
    assert page.locator("#scenarios tr.fail").count() == 3
    assert page.locator("#scenarios b").count() == 0
    assert BOLD_TAG in page.locator("#scenarios").inner_text()

    failed = page.locator('details.failure[data-scenario="exchange-size"]')
    assert failed.count() == 1
    assert page.locator("details.failure").count() == 4
    failed.locator("summary").click()
    assert failed.locator("pre.state-diff").is_visible()
    assert "exchange requested" in failed.locator("pre.state-diff").inner_text()
    body = failed.inner_text()
    assert XSS in body
    assert "cancel_pending_order" in body and "exchange confirmation number" in body
    assert dialogs == []

    shot = tmp_path / "report.png"
    page.screenshot(path=shot, full_page=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(shot) as image:
        assert image.format == "PNG"
        assert image.width == 1280 and image.height > 1500
        gray = image.convert("L")
        assert ImageStat.Stat(gray).stddev[0] > 10, "the screenshot is blank"
        assert len(image.convert("RGB").getcolors(maxcolors=1 << 20) or []) > 50


def test_junit_validates_against_the_schema_ci_reads(report: ReportFiles) -> None:
    schema = xmlschema.XMLSchema(JUNIT_XSD)
    schema.validate(report.junit)
    assert not schema.is_valid(
        '<testsuites><testsuite name="s" tests="1" failures="0" errors="0">'
        "<testcase/></testsuite></testsuites>"
    ), "a test case without a name must not validate"

    root = ET.parse(report.junit).getroot()
    assert root.tag == "testsuites"
    (suite,) = root.findall("testsuite")
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("4", "2", "1")
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("4", "2", "1")
    assert suite.get("skipped") == "0"
    assert suite.get("timestamp") == "2024-05-01T12:30:00"
    assert suite.get("hostname")
    cases = {case.get("name"): case for case in suite.findall("testcase")}
    assert list(cases) == ["cancel-pending", "exchange-size", "refund-over-limit", "address-change"]
    for case in cases.values():
        assert case.get("classname") == "evals.retail"
        assert re.fullmatch(r"\d+\.\d{3}", case.get("time") or "")

    clean = cases["cancel-pending"]
    assert clean.find("failure") is None and clean.find("error") is None
    assert "passed 3/3 trials" in (clean.findtext("system-out") or "")

    failure = cases["exchange-size"].find("failure")
    assert failure is not None
    assert "1 of 3 trials failed" in (failure.get("message") or "")
    text = failure.text or ""
    assert "state, must_say, must_not_call" in text
    assert "exchange requested" in text and XSS in text
    assert "\x00" not in text and "\x1b" not in text
    assert "passed 2/3 trials" in (cases["exchange-size"].findtext("system-out") or "")

    refund = cases["refund-over-limit"].find("failure")
    assert refund is not None and "2 of 3 trials failed" in (refund.get("message") or "")
    error = cases["address-change"].find("error")
    assert error is not None and cases["address-change"].find("failure") is None
    assert "TimeoutError: planner did not answer" in (error.get("message") or "")


def test_summary_json_round_trips_and_lists_failed_trials(
    report: ReportFiles, trials: list[TrialResult]
) -> None:
    data = json.loads(report.json.read_text(encoding="utf-8"))
    failed = data.pop("failed_trials")
    assert RunSummary.model_validate(data) == _summary(trials)
    assert [TrialResult.model_validate(t) for t in failed] == [t for t in trials if not t.passed]
    assert [(t["scenario_id"], t["trial"]) for t in failed] == [
        ("exchange-size", 1),
        ("refund-over-limit", 1),
        ("refund-over-limit", 2),
        ("address-change", 2),
    ]


class _ScenarioRows(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.inside = False
        self.rows: list[str] = []
        self.failures = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "table" and found.get("id") == "scenarios":
            self.inside = True
        elif tag == "tr" and self.inside and found.get("data-scenario"):
            self.rows.append(found["data-scenario"] or "")
        elif tag == "details" and "failure" in (found.get("class") or ""):
            self.failures += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self.inside = False


def test_a_thousand_trials_give_one_row_per_scenario(tmp_path: Path) -> None:
    trials = [
        _trial(
            f"scenario-{s:03d}",
            k,
            [f"tag-{s % 9}", "retail"],
            passed=(s * 7 + k) % 5 != 0,
            latency_ms=400.0 + (s * 37 + k * 101) % 5000,
        )
        for s in range(250)
        for k in range(4)
    ]
    files = write_report(tmp_path, _summary(trials, k=4), trials)

    parser = _ScenarioRows()
    parser.feed(files.html.read_text(encoding="utf-8"))
    assert parser.rows == [f"scenario-{s:03d}" for s in range(250)]
    assert parser.failures == sum(not t.passed for t in trials)
    suite = ET.parse(files.junit).getroot().find("testsuite")
    assert suite is not None and suite.get("tests") == "250"
    assert len(suite.findall("testcase")) == 250
