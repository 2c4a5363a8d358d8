"""``resolve eval drift``: a shifted intent mix is flagged, a resample of the same is not."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app
from evals import EvalConfigError, load_scenarios
from evals._inputs import read_utterances

SUITE = Path(__file__).resolve().parent.parent / "evals" / "suites" / "retail"
runner = CliRunner()


def _openings() -> list[tuple[str, str]]:
    """(intent, opening) of the shipped suite's persona scenarios, held-out part excluded."""
    return [
        (s.tags[0], s.user.opening)
        for s in load_scenarios([SUITE])
        if s.user.opening and "heldout" not in s.tags
    ]


def _write(path: Path, texts: list[str]) -> Path:
    path.write_text("\n".join(texts) + "\n")
    return path


def _drift(reference: Path, current: Path) -> tuple[int, dict[str, object]]:
    result = runner.invoke(
        app,
        ["eval", "drift", "--reference", str(reference), "--current", str(current), "--json",
         "--permutations", "200"],
    )  # fmt: skip
    assert result.exit_code in (0, 1), result.output
    line = [x for x in result.output.splitlines() if x.startswith("{")][-1]
    return result.exit_code, json.loads(line)


@pytest.mark.slow
def test_a_resample_of_the_same_messages_is_not_drift(tmp_path: Path) -> None:
    texts = [text for _, text in _openings()]
    random.Random(7).shuffle(texts)
    half = len(texts) // 2
    code, found = _drift(
        _write(tmp_path / "a.txt", texts[:half]), _write(tmp_path / "b.txt", texts[half:])
    )
    assert code == 0, found["verdict"]
    assert found["significant"] is False


@pytest.mark.slow
def test_a_shifted_intent_mix_is_drift(tmp_path: Path) -> None:
    pairs = _openings()
    random.Random(7).shuffle(pairs)
    half = len(pairs) // 2
    reference = [text for _, text in pairs[:half]]
    shifted = [text for intent, text in pairs[half:] if intent in ("cancel", "return")]
    assert len(shifted) >= 20
    code, found = _drift(_write(tmp_path / "a.txt", reference), _write(tmp_path / "b.txt", shifted))
    assert code == 1
    intents = found["intents"]
    assert isinstance(intents, dict) and intents["significant"] is True
    assert str(found["verdict"]).startswith("inputs drifted")


def test_sources_read_suites_text_and_jsonl(tmp_path: Path) -> None:
    jsonl = tmp_path / "m.jsonl"
    jsonl.write_text('{"text": "where is my order"}\n\n{"text": "cancel it"}\n')
    assert read_utterances(str(jsonl)) == ["where is my order", "cancel it"]
    assert len(read_utterances(str(SUITE))) == len(load_scenarios([SUITE]))
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"message": "x"}\n')
    with pytest.raises(EvalConfigError, match=r"bad.jsonl:1"):
        read_utterances(str(bad))
    with pytest.raises(EvalConfigError, match="no such source"):
        read_utterances(str(tmp_path / "missing.txt"))
    with pytest.raises(EvalConfigError, match="whole number of days"):
        read_utterances("store:soon", store=lambda since: [])
    seen: list[object] = []
    assert read_utterances("store:7", store=lambda since: seen.append(since) or ["hi"]) == ["hi"]
    assert seen and seen[0] is not None
