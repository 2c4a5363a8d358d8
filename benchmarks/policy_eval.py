"""Policy decisions per second for the retail pack, with per-call latency p50/p99.

Peer, measured in the same run: the same pack's conditions evaluated with cel-python
(``celpy``), the pure-Python CEL implementation, over the same contexts. The contexts are the
retail pack's own test cases (``policies/packs/retail.tests.yaml``), so every rule is exercised.

Usage: ``python benchmarks/policy_eval.py [--rounds 200]``. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from datetime import datetime
from typing import Any

import celpy
from celpy import celtypes

from policies import PolicyEngine, load_pack
from policies._authoring import case_context, load_pack_cases, tests_path_for
from tools.retail import retail_registry


def _to_cel(value: Any) -> Any:
    if isinstance(value, datetime):
        return celtypes.TimestampType(value)
    if isinstance(value, dict):
        return celtypes.MapType({celtypes.StringType(k): _to_cel(v) for k, v in value.items()})
    if isinstance(value, list):
        return celtypes.ListType([_to_cel(v) for v in value])
    if isinstance(value, bool):
        return celtypes.BoolType(value)
    if isinstance(value, int):
        return celtypes.IntType(value)
    if isinstance(value, float):
        return celtypes.DoubleType(value)
    if isinstance(value, str):
        return celtypes.StringType(value)
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=200)
    options = parser.parse_args()

    effects = {t.name: t.effect for t in retail_registry()}
    pack = load_pack("retail", known_tools=effects)
    engine = PolicyEngine(pack, effects)
    defaults, cases = load_pack_cases(tests_path_for(pack))
    work = [(case.call, case_context(pack, defaults, case)) for case in cases]

    latencies: list[int] = []
    started = time.perf_counter()
    for _ in range(options.rounds):
        for call, context in work:
            begin = time.perf_counter_ns()
            engine.evaluate(call, context)
            latencies.append(time.perf_counter_ns() - begin)
    ours_seconds = time.perf_counter() - started
    decisions = options.rounds * len(work)
    ours_rate = decisions / ours_seconds

    env = celpy.Environment()
    programs = {
        rule.rule.id: env.program(env.compile(rule.rule.when))
        for rule in pack.rules
        if rule.rule.when.strip()
    }
    peer_work = [(call, _to_cel(context), pack.rules_for(call.tool)) for call, context in work]
    peer_rounds = max(1, options.rounds // 10)
    started = time.perf_counter()
    for _ in range(peer_rounds):
        for _call, activation, rules in peer_work:
            for rule in rules:
                program = programs.get(rule.rule.id)
                if program is not None:
                    try:
                        program.evaluate(activation)
                    except Exception:
                        continue
    peer_seconds = time.perf_counter() - started
    peer_rate = peer_rounds * len(work) / peer_seconds

    latencies.sort()
    p50 = latencies[len(latencies) // 2] / 1e6
    p99 = latencies[int(len(latencies) * 0.99)] / 1e6
    print(f"retail pack {pack.label}: {len(pack.rules)} rules, {len(work)} contexts")
    print(
        f"ours (common-expression-language): {ours_rate:,.0f} decisions/s, "
        f"p50 {p50:.4f} ms, p99 {p99:.4f} ms, mean {statistics.fmean(latencies) / 1e6:.4f} ms"
    )
    print(f"peer (cel-python, same rules and contexts): {peer_rate:,.0f} decisions/s")
    print(f"ratio ours/peer: {ours_rate / peer_rate:.1f}x")
    print(
        json.dumps(
            {
                "benchmark": "policy_eval",
                "decisions": decisions,
                "decisions_per_second": round(ours_rate, 1),
                "p50_ms": round(p50, 4),
                "p99_ms": round(p99, 4),
                "peer": "cel-python",
                "peer_decisions_per_second": round(peer_rate, 1),
                "ratio_vs_peer": round(ours_rate / peer_rate, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
