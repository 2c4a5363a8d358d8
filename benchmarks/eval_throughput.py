"""Eval harness throughput: scored trials per second, and model-call concurrency achieved.

Part 1, scripted planner: the shipped retail suite run with ``--planner oracle`` (a scripted
planner that proposes each scenario's expected actions) through the whole graph, persona
customers, state scoring, runs store, over ``--workers`` processes, until ``--trials`` trials
are done. Peer, measured in the same run: the bare replay of the same expected actions
through the tool registry on fresh database copies (no agent, no policy, no customer), the
floor any harness pays for fresh state; printed as a ratio.

Part 2, model-bound (timed from the first model call to the last answer, so that the
seed and expected-state preparation is left out): the ``openai`` planner against a local
OpenAI-wire HTTP server on 127.0.0.1 that answers every chat completion after ``--latency``
seconds (a reply with no tool call, so each trial is two model calls: the answer, and the
answer to the customer's goodbye). With ``--concurrency`` trials in flight (split over the
workers), the ideal is ``concurrency / latency`` calls per second; the achieved rate is
printed as a share of it (target: >= 80%).

Usage: ``python benchmarks/eval_throughput.py [--trials 1000] [--workers 2]
[--concurrency 8] [--latency 0.2] [--model-trials 64]``. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from evals import load_scenarios, run_eval
from evals._sources import SeedDatabases, expected_state
from tools.retail import retail_registry

SUITE = Path(__file__).resolve().parent.parent / "evals" / "suites" / "retail"
PEER = "bare replay of the expected actions through the tool registry (no agent)"


def _suite(total: int) -> tuple[list[Any], int]:
    scenarios = load_scenarios([SUITE])
    trials = max(1, math.ceil(total / len(scenarios)))
    return scenarios, trials


def _scripted(total: int, workers: int, concurrency: int, folder: Path) -> dict[str, float]:
    scenarios, trials = _suite(total)
    began = time.perf_counter()
    outcome = asyncio.run(
        run_eval(
            scenarios,
            planner="oracle",
            suite="benchmark",
            store=folder / "runs.db",
            trials=trials,
            concurrency=concurrency,
            workers=workers,
        )
    )
    elapsed = time.perf_counter() - began
    done = len(outcome.trials)
    assert outcome.summary.accuracy == 1.0, outcome.summary.failed
    return {"trials": done, "seconds": elapsed, "per_second": done / elapsed}


def _peer(total: int) -> dict[str, float]:
    """Replay each scenario's expected writes on a fresh copy, ``total`` times in all."""
    scenarios, trials = _suite(total)
    registry = retail_registry()
    seeds = SeedDatabases()
    seeds.open_copy("demo")[1]()  # prepare the template outside the timing
    began = time.perf_counter()
    done = 0
    try:
        for _ in range(trials):
            for scenario in scenarios:
                backend, discard = seeds.open_copy(scenario.seed)
                try:
                    expected_state(
                        backend, scenario.expect.actions, registry, seeds.clock("demo"), None
                    )
                finally:
                    discard()
                done += 1
    finally:
        seeds.close()
    elapsed = time.perf_counter() - began
    return {"trials": done, "seconds": elapsed, "per_second": done / elapsed}


class _Server(ThreadingHTTPServer):
    """Room for many connections at once (the default backlog of 5 drops some)."""

    daemon_threads = True
    request_queue_size = 128


class _SlowModel:
    """A chat-completions server that answers after a fixed delay, counting calls."""

    def __init__(self, latency: float) -> None:
        self.latency = latency
        self.calls = 0
        self.first: float | None = None
        self.last = 0.0
        self._lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out at once, no 40 ms ACK wait

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                self.rfile.read(length)
                with owner._lock:
                    if owner.first is None:
                        owner.first = time.perf_counter()
                time.sleep(owner.latency)
                with owner._lock:
                    owner.calls += 1
                    owner.last = time.perf_counter()
                body = json.dumps({
                    "id": "chatcmpl-bench", "object": "chat.completion", "created": 0,
                    "model": "bench", "choices": [{"index": 0, "finish_reason": "stop",
                    "message": {"role": "assistant", "content": "Happy to help with that."}}],
                    "usage": {"prompt_tokens": 50, "completion_tokens": 8, "total_tokens": 58},
                }).encode()  # fmt: skip
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> _SlowModel:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"


def _model_bound(
    count: int, concurrency: int, latency: float, workers: int, folder: Path
) -> dict[str, float]:
    scenarios = [s for s in load_scenarios([SUITE]) if s.user.kind == "persona"][:count]
    with _SlowModel(latency) as model:
        os.environ["OPENAI_BASE_URL"] = model.url
        os.environ["OPENAI_API_KEY"] = "benchmark"
        asyncio.run(
            run_eval(
                scenarios,
                planner="openai",
                model="bench",
                suite="benchmark",
                store=folder / "model.db",
                concurrency=max(1, concurrency // workers),
                workers=workers,
                save=False,
            )
        )
        # From the first call in to the last answer out: the trial phase, not the setup.
        elapsed = model.last - (model.first or model.last)
        calls = model.calls
    ideal = concurrency / latency
    achieved = calls / elapsed
    return {"calls": calls, "seconds": elapsed, "calls_per_second": achieved,
            "ideal_calls_per_second": ideal, "share": achieved / ideal}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trials", type=int, default=1000, help="scripted trials to run")
    parser.add_argument("--workers", type=int, default=2, help="worker processes")
    parser.add_argument("--concurrency", type=int, default=8, help="trials in flight")
    parser.add_argument("--latency", type=float, default=0.2, help="model latency, seconds")
    parser.add_argument("--model-trials", type=int, default=64, help="model-bound trials")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        ours = _scripted(options.trials, options.workers, options.concurrency, folder)
        peer = _peer(min(options.trials, 400))
        model = _model_bound(
            options.model_trials, options.concurrency, options.latency, options.workers, folder
        )
    print(
        f"scripted planner: {ours['trials']:.0f} trials in {ours['seconds']:.1f} s = "
        f"{ours['per_second']:.1f} trials/s on {options.workers} workers (target >= 20/s, "
        f"1,000 trials < 60 s) | peer ({PEER}): {peer['per_second']:.1f} trials/s | "
        f"ratio ours/peer {ours['per_second'] / peer['per_second']:.2f}x"
    )
    print(
        f"model-bound: {model['calls']:.0f} calls in {model['seconds']:.1f} s = "
        f"{model['calls_per_second']:.1f} calls/s vs ideal {model['ideal_calls_per_second']:.1f}"
        f" (concurrency {options.concurrency} / latency {options.latency}s) = "
        f"{model['share']:.0%} (target >= 80%)"
    )
    print(json.dumps({
        "benchmark": "eval_throughput", "peer": PEER,
        "trials": ours["trials"], "seconds": round(ours["seconds"], 2),
        "trials_per_second": round(ours["per_second"], 2),
        "peer_trials_per_second": round(peer["per_second"], 2),
        "ratio_vs_peer": round(ours["per_second"] / peer["per_second"], 3),
        "workers": options.workers,
        "model_calls_per_second": round(model["calls_per_second"], 2),
        "model_ideal_calls_per_second": round(model["ideal_calls_per_second"], 2),
        "model_share": round(model["share"], 3),
    }))  # fmt: skip


if __name__ == "__main__":
    main()
