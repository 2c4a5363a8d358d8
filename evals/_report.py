"""Run reports: a self-contained HTML page, the summary as JSON, and JUnit XML for CI.

``write_report`` writes three files into one folder:

* ``report.html``: one page that opens offline: inline CSS, plots as inline SVG (text drawn
  as paths, so no font is fetched), no scripts.
* ``summary.json``: the :class:`RunSummary` plus every failed :class:`TrialResult`.
* ``junit.xml``: one ``<testcase>`` per scenario, in the Ant/Jenkins JUnit format that
  Jenkins, GitLab and GitHub test reporters read.

Every step is linear in the number of trials, so a 1,000-trial run renders in about a second.
"""

from __future__ import annotations

import io
import json
import re
import socket
import statistics
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
import matplotlib as mpl
from markupsafe import Markup
from matplotlib.figure import Figure

from evals._report_template import REPORT_TEMPLATE
from evals._results import RunSummary, TrialResult

__all__ = ["ReportFiles", "write_report"]


@dataclass(frozen=True, slots=True)
class ReportFiles:
    """Where :func:`write_report` put its files.

    Attributes:
        html: The self-contained page (``report.html``).
        json: The summary and the failed trials (``summary.json``).
        junit: One test case per scenario (``junit.xml``).
    """

    html: Path
    json: Path
    junit: Path


def write_report(
    out_dir: str | Path, summary: RunSummary, trials: Sequence[TrialResult]
) -> ReportFiles:
    """Write ``report.html``, ``summary.json`` and ``junit.xml`` for one run.

    Args:
        out_dir: The folder to write into; created (with its parents) when missing.
        summary: The run's figures.
        trials: Every trial of the run, in run order (scenarios keep their first-seen order).

    Returns:
        The paths of the three files.
    """
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    scenarios = _by_scenario(trials)
    files = ReportFiles(
        html=folder / "report.html", json=folder / "summary.json", junit=folder / "junit.xml"
    )
    files.html.write_text(_render_html(summary, trials, scenarios), encoding="utf-8")
    files.json.write_text(_summary_json(summary, trials), encoding="utf-8")
    tree = _junit(summary, scenarios)
    ET.indent(tree)
    tree.write(files.junit, encoding="utf-8", xml_declaration=True)
    return files


def _by_scenario(trials: Sequence[TrialResult]) -> dict[str, list[TrialResult]]:
    groups: dict[str, list[TrialResult]] = {}
    for trial in trials:
        groups.setdefault(trial.scenario_id, []).append(trial)
    return groups


def _failed(trial: TrialResult) -> bool:
    return not trial.passed or trial.outcome == "error"


def _failed_checks(trial: TrialResult) -> list[str]:
    return [name for name, held in trial.checks.items() if not held]


def _pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def _summary_json(summary: RunSummary, trials: Sequence[TrialResult]) -> str:
    data = summary.model_dump(mode="json")
    data["failed_trials"] = [t.model_dump(mode="json") for t in trials if _failed(t)]
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


# --- HTML -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Card:
    label: str
    value: str
    note: str = ""
    bad: bool = False


@dataclass(frozen=True, slots=True)
class _Plot:
    id: str
    caption: str
    svg: Markup


@dataclass(frozen=True, slots=True)
class _Row:
    scenario_id: str
    tags: list[str]
    trials: int
    passed: str
    outcomes: str
    expected: str
    anchor: str  # the first failed trial's <details>, "" when every trial passed


@dataclass(frozen=True, slots=True)
class _Turn:
    role: str
    css: str
    text: str


@dataclass(frozen=True, slots=True)
class _Failure:
    anchor: str
    scenario_id: str
    trial: int
    outcome: str
    expected: str
    failed_checks: list[str]
    error: str
    violations: list[str]
    forbidden_calls: list[str]
    missing_facts: list[str]
    state_diff: str
    actions: str
    transcript: list[_Turn]


@cache
def _template() -> jinja2.Template:
    env = jinja2.Environment(
        autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True
    )
    return env.from_string(REPORT_TEMPLATE)


def _render_html(
    summary: RunSummary,
    trials: Sequence[TrialResult],
    scenarios: dict[str, list[TrialResult]],
) -> str:
    failures: list[_Failure] = []
    rows: list[_Row] = []
    for scenario_id, group in scenarios.items():
        anchor = ""
        for trial in group:
            if _failed(trial):
                failures.append(_failure(f"fail-{len(failures) + 1}", trial))
                anchor = anchor or failures[-1].anchor
        rows.append(_row(scenario_id, group, anchor))
    return _template().render(
        run_id=summary.run_id,
        suite=summary.suite,
        created_at=summary.created_at.isoformat(sep=" ", timespec="seconds"),
        scenarios=summary.scenarios,
        k=summary.trials,
        fingerprint=[(key, _scalar(value)) for key, value in summary.fingerprint.items()],
        cards=_cards(summary),
        plots=_plots(summary, trials),
        rows=rows,
        failed_scenarios=sum(1 for row in rows if row.anchor),
        failures=failures,
    )


def _scalar(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, default=str)


def _row(scenario_id: str, group: list[TrialResult], anchor: str) -> _Row:
    outcomes = Counter(t.outcome for t in group)
    shown = (
        next(iter(outcomes))
        if len(outcomes) == 1
        else ", ".join(f"{o} \u00d7{n}" for o, n in outcomes.most_common())
    )
    expected = dict.fromkeys(t.expected_outcome for t in group)
    return _Row(
        scenario_id=scenario_id,
        tags=group[0].tags,
        trials=len(group),
        passed=f"{sum(1 for t in group if not _failed(t))}/{len(group)}",
        outcomes=shown,
        expected=", ".join(expected),
        anchor=anchor,
    )


def _failure(anchor: str, trial: TrialResult) -> _Failure:
    return _Failure(
        anchor=anchor,
        scenario_id=trial.scenario_id,
        trial=trial.trial,
        outcome=trial.outcome,
        expected=trial.expected_outcome,
        failed_checks=_failed_checks(trial),
        error=trial.error or "",
        violations=trial.violations,
        forbidden_calls=trial.forbidden_calls,
        missing_facts=trial.missing_facts,
        state_diff=_pretty(trial.state_diff) if trial.state_diff else "",
        actions="\n".join(_action_line(a) for a in trial.actions),
        transcript=[_turn(turn) for turn in trial.transcript],
    )


def _action_line(action: dict[str, Any]) -> str:
    args = json.dumps(action.get("args", {}), ensure_ascii=False, sort_keys=True, default=str)
    mark = "ok" if action.get("ok", True) else "ERROR"
    return f"{action.get('name', '?')}({args}) -> {mark}"


def _turn(turn: dict[str, str]) -> _Turn:
    role = turn.get("role", "")
    return _Turn(
        role=role, css=role if role in ("customer", "agent") else "other", text=turn.get("text", "")
    )


def _percent(value: float) -> str:
    return f"{value:.1%}"


def _ms(value: float) -> str:
    return f"{value:,.0f} ms" if value < 10_000 else f"{value / 1000:,.1f} s"


def _k_sorted(pass_hat_k: dict[str, float]) -> list[tuple[int, float]]:
    return sorted((int(k), v) for k, v in pass_hat_k.items() if k.isdigit())


def _cards(s: RunSummary) -> list[_Card]:
    def optional(value: float | None) -> str:
        return "n/a" if value is None else _percent(value)

    low, high = s.accuracy_ci
    pass_k = _k_sorted(s.pass_hat_k)
    return [
        _Card("Accuracy", _percent(s.accuracy), f"95% CI {_percent(low)} \u2013 {_percent(high)}"),
        _Card(
            f"pass^{pass_k[-1][0]}" if pass_k else "pass^k",
            f"{pass_k[-1][1]:.3f}" if pass_k else "n/a",
            " · ".join(f"k={k}: {v:.3f}" for k, v in pass_k),
        ),
        _Card("Violations", str(s.violations), "writes without an allow", bad=s.violations > 0),
        _Card("Escalation precision", optional(s.escalation_precision)),
        _Card("Escalation recall", optional(s.escalation_recall)),
        _Card("Tool errors", str(s.tool_errors)),
        _Card("Median turns", f"{s.median_turns:g}"),
        _Card("Tokens per resolved", f"{s.tokens_per_resolved:,.0f}"),
        _Card("Cost per resolved", f"${s.cost_per_resolved:,.4f}"),
        _Card("Latency p50", _ms(s.latency_p50_ms)),
        _Card("Failed scenarios", f"{len(s.failed)}/{s.scenarios}", bad=bool(s.failed)),
    ]


# --- Plots ------------------------------------------------------------------------------

_SVG_REF = re.compile(r'(\bid="|href="#|url\(#)([^")]+)')
_BAR = "#4c78a8"


def _plots(summary: RunSummary, trials: Sequence[TrialResult]) -> list[_Plot]:
    with mpl.rc_context(
        {
            "svg.fonttype": "path",  # glyphs as paths: the page needs no font
            "svg.hashsalt": "resolve-evals",  # stable ids: the same run renders the same bytes
            "text.parse_math": False,  # a "$" in a tag name is text, not mathtext
            "text.usetex": False,
            "font.size": 9,
            "axes.spines.top": False,
            "axes.spines.right": False,
        }
    ):
        return [
            _Plot("plot-accuracy-by-tag", "Accuracy by tag", _svg("acc", _tag_plot(summary))),
            _Plot("plot-pass-k", "pass^k over k", _svg("passk", _pass_k_plot(summary))),
            _Plot("plot-latency", "Trial latency", _svg("lat", _latency_plot(trials))),
        ]


def _figure(height: float = 3.2) -> Figure:
    # The Figure API, not pyplot: no GUI backend, no global figure registry to leak into.
    return Figure(figsize=(6.4, height), layout="constrained")


def _svg(prefix: str, figure: Figure) -> Markup:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    text = text[text.index("<svg") :]  # drop the XML declaration and DOCTYPE
    # Inline SVGs share the page's id namespace (glyph ids repeat across figures): prefix them.
    return Markup(_SVG_REF.sub(lambda m: f"{m[1]}{prefix}-{m[2]}", text))


def _empty(figure: Figure, message: str) -> Figure:
    ax = figure.subplots()
    ax.set_axis_off()
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes)
    return figure


def _tag_plot(summary: RunSummary) -> Figure:
    tags = sorted(summary.per_tag.items(), key=lambda item: (item[1].accuracy, item[0]))
    figure = _figure(min(40.0, max(2.4, 0.28 * len(tags) + 1.0)))
    if not tags:
        return _empty(figure, "no tags")
    ax = figure.subplots()
    bars = ax.barh(range(len(tags)), [score.accuracy for _, score in tags], color=_BAR)
    ax.bar_label(bars, labels=[f"{s.passed}/{s.trials}" for _, s in tags], padding=3)
    ax.set_yticks(range(len(tags)), [name for name, _ in tags])
    ax.invert_yaxis()  # worst tag on top
    ax.set_xlim(0, 1.12)
    ax.set_xticks([0, 0.25, 0.5, 0.75, 1.0], ["0%", "25%", "50%", "75%", "100%"])
    ax.set_xlabel("accuracy")
    return figure


def _pass_k_plot(summary: RunSummary) -> Figure:
    points = _k_sorted(summary.pass_hat_k)
    figure = _figure()
    if not points:
        return _empty(figure, "no pass^k")
    ax = figure.subplots()
    ks, values = [k for k, _ in points], [v for _, v in points]
    ax.plot(ks, values, marker="o", color=_BAR)
    for k, v in points:
        ax.annotate(f"{v:.2f}", (k, v), textcoords="offset points", xytext=(0, 6), ha="center")
    ax.set_xticks(ks)
    ax.set_ylim(0, 1.08)
    ax.set_xlabel("k")
    ax.set_ylabel("pass^k")
    ax.grid(axis="y", alpha=0.3)
    return figure


def _latency_plot(trials: Sequence[TrialResult]) -> Figure:
    latencies = [t.latency_ms for t in trials]
    figure = _figure()
    if not latencies:
        return _empty(figure, "no trials")
    ax = figure.subplots()
    ax.hist(latencies, bins=max(5, min(40, round(len(latencies) ** 0.5))), color=_BAR)
    median = statistics.median(latencies)
    ax.axvline(median, color="#cf222e", linestyle="--", label=f"p50 {_ms(median)}")
    ax.legend(frameon=False)
    ax.set_xlabel("trial latency (ms)")
    ax.set_ylabel("trials")
    return figure


# --- JUnit ------------------------------------------------------------------------------

# Characters XML 1.0 cannot hold at all, even escaped (ElementTree writes them verbatim).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


def _seconds(milliseconds: float) -> str:
    return f"{milliseconds / 1000:.3f}"


def _classname(suite: str) -> str:
    # CI tools split the class name at dots: "suites/retail.yaml" -> "evals.retail",
    # "taubench:test" -> "evals.taubench_test".
    stems = [Path(part).stem for part in re.split(r"[\s,]+", suite) if part]
    name = re.sub(r"\W+", "_", "_".join(stems), flags=re.ASCII).strip("_")
    return f"evals.{name or 'run'}"


def _timestamp(moment: datetime) -> str:
    # Ant's schema wants a zone-less ISO time; write it in UTC.
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.isoformat(timespec="seconds")


def _trial_text(trial: TrialResult) -> str:
    lines = [
        f"scenario {trial.scenario_id}, trial {trial.trial}: "
        f"outcome {trial.outcome}, expected {trial.expected_outcome}",
        f"failed checks: {', '.join(_failed_checks(trial)) or '-'}",
    ]
    for label, items in (
        ("violations", trial.violations),
        ("forbidden calls", trial.forbidden_calls),
        ("missing facts", trial.missing_facts),
    ):
        if items:
            lines.append(f"{label}: {', '.join(items)}")
    if trial.error:
        lines += ["error:", trial.error]
    if trial.state_diff:
        lines += ["state diff:", _pretty(trial.state_diff)]
    lines.append("transcript:")
    lines += [f"  {t.get('role', '?')}: {t.get('text', '')}" for t in trial.transcript]
    return "\n".join(lines)


def _testcase(classname: str, scenario_id: str, group: list[TrialResult]) -> ET.Element:
    case = ET.Element(
        "testcase",
        name=_xml(scenario_id),
        classname=classname,
        time=_seconds(sum(t.latency_ms for t in group)),
    )
    errored = [t for t in group if t.outcome == "error"]
    failed = [t for t in group if _failed(t) and t.outcome != "error"]
    if errored:
        first = errored[0].error or "no error message"
        detail = "\n\n".join(_trial_text(t) for t in (*errored[:1], *failed[:1]))
        element = ET.SubElement(
            case,
            "error",
            message=_xml(f"{len(errored)} of {len(group)} trials errored: {first.splitlines()[0]}"),
            type="TrialError",
        )
        element.text = _xml(detail)
    elif failed:
        checks = ", ".join(_failed_checks(failed[0])) or failed[0].outcome
        element = ET.SubElement(
            case,
            "failure",
            message=_xml(f"{len(failed)} of {len(group)} trials failed: {checks}"),
            type="EvalFailure",
        )
        element.text = _xml(_trial_text(failed[0]))
    passed = sum(1 for t in group if not _failed(t))
    out = [f"passed {passed}/{len(group)} trials"]
    out += [
        f"trial {t.trial}: {'fail' if _failed(t) else 'pass'} "
        f"(outcome {t.outcome}, expected {t.expected_outcome}, {_seconds(t.latency_ms)} s)"
        for t in group
    ]
    ET.SubElement(case, "system-out").text = _xml("\n".join(out))
    return case


def _junit(summary: RunSummary, scenarios: dict[str, list[TrialResult]]) -> ET.ElementTree:
    classname = _classname(summary.suite)
    cases = [_testcase(classname, sid, group) for sid, group in scenarios.items()]
    counts = {
        "tests": str(len(cases)),
        "failures": str(sum(1 for c in cases if c.find("failure") is not None)),
        "errors": str(sum(1 for c in cases if c.find("error") is not None)),
    }
    total = _seconds(sum(t.latency_ms for group in scenarios.values() for t in group))
    root = ET.Element("testsuites", {"name": _xml(f"evals {summary.run_id}"), **counts})
    root.set("time", total)
    suite = ET.SubElement(
        root,
        "testsuite",
        {
            "name": _xml(summary.suite or summary.run_id),
            **counts,
            "skipped": "0",
            "time": total,
            "timestamp": _timestamp(summary.created_at),
            "hostname": socket.gethostname(),
            "id": "0",
        },
    )
    properties = ET.SubElement(suite, "properties")
    values = {key: v for key, v in summary.headline().items() if key != "failed"}
    values["created_at"] = summary.created_at.isoformat()
    values.update({f"fingerprint.{key}": v for key, v in summary.fingerprint.items()})
    for key, value in values.items():
        ET.SubElement(properties, "property", name=_xml(key), value=_xml(_scalar(value)))
    suite.extend(cases)
    return ET.ElementTree(root)
