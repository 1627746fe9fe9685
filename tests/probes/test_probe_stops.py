"""A probe stopped by a signal or a provider's refusal ends as a study's run does, and resumes calling nothing twice.

The probe's trials go through the runner's scheduler (eitest.administer.scheduling): SIGTERM and
SIGINT end it with the shell's status (143, 130) and the one line that says what is stored and
how to resume; the calls in flight finish within the grace period and are stored.
"""

from __future__ import annotations

import itertools
import os
import re
import signal
from collections import Counter
from pathlib import Path

import pytest
import yaml
from conftest import instrument_data, run_cli
from openai_server import Action, ScriptedServer, prompt_of
from probe_items import CONTROL_ITEMS, ITEMS
from signalled import signalled, stored_count
from test_probe_cli import verbatim

from eitest.store import Store

PLANNED = 80  # two variants of 20 items and of their 20 control texts
STOPPED = re.compile(r"stopped by (\w+): (\d+) of 80 trials stored \(run ([0-9a-f]{12})\); resume with: (.+)")


@pytest.fixture
def form(tmp_path: Path) -> str:
    path = tmp_path / "form.yaml"
    path.write_text(yaml.safe_dump(instrument_data("probe-form", ITEMS)), encoding="utf-8")
    controls = tmp_path / "controls.yaml"  # beside it: the probe's controls (probe_items.CONTROL_ITEMS)
    controls.write_text(yaml.safe_dump(instrument_data("probe-controls-form", CONTROL_ITEMS)), encoding="utf-8")
    return str(path)


def probe_args(form: str, db: Path, url: str) -> list[str]:
    controls = str(Path(form).with_name("controls.yaml"))
    return ["probe", "memorisation", "-m", "openai/knows-it", "-i", form, "--controls", controls, "--db", str(db),
            "--api-base", url]  # fmt: skip


def sent_once(srv: ScriptedServer) -> bool:
    """Every trial's prompt reached the server exactly once, over every run of the probe."""
    sent = Counter(prompt_of(body) for body in srv.bodies)
    return len(sent) == PLANNED and set(sent.values()) == {1}


def assert_resumes(srv: ScriptedServer, args: list[str], db: Path, run_id: str, n: int) -> None:
    again = run_cli(*args)
    assert again.returncode == 0, again.stderr
    assert f"{PLANNED - n} call(s) made, {n} already done, 0 failed" in again.stderr
    assert srv.requests == PLANNED and sent_once(srv)
    with Store(db) as store:
        assert len(store.trial_records(run_id)) == PLANNED and store.run(run_id).finished_at is not None


def test_sigterm_stops_the_probe_with_143_and_one_line_and_the_resume_calls_nothing_twice(tmp_path, form):
    db = tmp_path / "p.db"
    delay_s = [0.1]  # replies are held until the signal has come; the resume need not wait

    def slow(body: dict) -> Action:
        action = verbatim(body)
        action.delay_s = delay_s[0]
        return action

    with ScriptedServer(slow) as srv:
        args = [*probe_args(form, db, srv.url), "--concurrency", "2", "--yes"]
        returncode, out, err = signalled(args, db, tmp_path, signal.SIGTERM)
        delay_s[0] = 0.0
        assert returncode == 143, err
        assert "Traceback" not in err and out == ""  # the findings are for a finished probe
        found = STOPPED.fullmatch(err.strip().splitlines()[-1])
        assert found, err
        assert found[1] == "SIGTERM" and found[4] == " ".join(["eitest", *args])
        n = int(found[2])
        with Store(db) as store:
            before = store.trial_records(found[3])
            assert store.run(found[3]).finished_at is None
        assert 6 <= n < PLANNED and len(before) == n and {t.status for t in before} == {"answered"}
        assert srv.requests == n  # the calls in flight finished within the grace period and were stored
        assert_resumes(srv, args, db, found[3], n)


def test_sigint_lets_the_calls_in_flight_finish_ends_with_130_and_the_resume_calls_nothing_twice(tmp_path, form):
    db = tmp_path / "i.db"
    arrived = itertools.count()  # next() on it is atomic: one server thread sees 4

    def interrupted(body: dict) -> Action:
        action = verbatim(body)
        n = next(arrived)
        action.delay_s = 0.2 if n < 20 else 0.0  # held while the signal comes; the resume need not wait
        if n == 4:  # the fifth request: Ctrl-C while it and others are in flight
            os.kill(os.getpid(), signal.SIGINT)
        return action

    with ScriptedServer(interrupted) as srv:
        args = [*probe_args(form, db, srv.url), "--concurrency", "3", "--yes"]
        ran = run_cli(*args)
        assert ran.returncode == 130, ran.stderr
        lines = ran.stderr.strip().splitlines()
        note = next(line for line in lines if line.startswith("note: SIGINT"))
        waited = re.fullmatch(
            r"note: SIGINT: no new calls; waiting up to 5 s for the (\d) in flight \(press Ctrl-C again to abandon them\)",
            note,
        )
        assert waited and 1 <= int(waited[1]) <= 3, note
        found = STOPPED.fullmatch(lines[-1])
        assert found and found[1] == "SIGINT" and found[4] == " ".join(["eitest", *args]), lines[-1]
        n = int(found[2])
        assert 5 <= n < PLANNED and stored_count(db) == n == srv.requests  # none began after the signal
        assert_resumes(srv, args, db, found[3], n)


def test_a_refusal_stops_the_probe_at_once_and_says_what_is_stored(tmp_path, form):
    db = tmp_path / "r.db"

    arrived = itertools.count()

    def revoked(body: dict) -> Action:
        if next(arrived) >= 3:  # the key is revoked after three replies
            return Action(status=401, message="Incorrect API key provided")
        return verbatim(body)

    with ScriptedServer(revoked) as srv:
        ran = run_cli(*probe_args(form, db, srv.url), "--concurrency", "1", "--retries", "0", "--yes")
    assert ran.returncode == 2 and "Traceback" not in ran.stderr
    assert "Error: the provider refused the key (401) for openai/knows-it" in ran.stderr
    assert re.search(
        r"3 of 80 trials stored \(run [0-9a-f]{12}\), no further calls made; fix it and re-run", ran.stderr
    )
    assert srv.requests == 4 and stored_count(db) == 3


def test_the_probe_is_paced_as_a_study_is_429s_waited_out_and_said(tmp_path, form):
    from eitest.administer.study import Study
    from eitest.probes.running import run_probe

    arrived = itertools.count()

    def throttling(body: dict) -> Action:
        if next(arrived) < 2:  # the provider's window is full for the first two requests
            return Action(status=429, message="Rate limit reached", headers={"retry-after-ms": "50"})
        return verbatim(body)

    said: list[str] = []
    with ScriptedServer(throttling) as srv:
        study = Study(models=["openai/knows-it"], instruments=[form], api_base=srv.url, concurrency=4)
        controls = str(Path(form).with_name("controls.yaml"))
        out = run_probe(study, tmp_path / "t.db", controls=controls, on_throttle=said.append)
    assert (out.called, out.failed, out.stored, out.throttled) == (PLANNED, 0, PLANNED, 2)
    assert srv.requests == PLANNED + 2 and said and all("throttled: 429 from provider" in s for s in said)
    assert "concurrency 4 -> " in said[0]  # the model's pacer lowered its concurrency


def test_a_reasoning_models_probe_gets_room_to_reason_and_its_run_says_so(tmp_path, form):
    from eitest.administer.study import Study
    from eitest.probes.running import run_probe
    from eitest.store import Store

    with ScriptedServer(verbatim) as srv:
        controls = str(Path(form).with_name("controls.yaml"))
        for model in ("openai/o1", "openai/knows-it"):
            study = Study(models=[model], instruments=[form], api_base=srv.url)
            run_probe(study, tmp_path / f"{model.split('/')[1]}.db", controls=controls)
    caps = [b.get("max_completion_tokens", b.get("max_tokens")) for b in srv.bodies]
    assert set(caps[:PLANNED]) == {25_000} and set(caps[PLANNED:]) == {512}
    for name, raised in (("o1", {"openai/o1": 25_000}), ("knows-it", {})):
        with Store(tmp_path / f"{name}.db") as store:
            [run] = store.runs()
        assert run.config["max_tokens_raised"] == raised


def test_max_tokens_caps_a_reasoning_models_probe_and_is_a_run_of_its_own(tmp_path, form):
    from click.testing import CliRunner

    from eitest.cli import cli
    from eitest.store import Store

    db = tmp_path / "t.db"
    with ScriptedServer(verbatim) as srv:
        args = probe_args(form, db, srv.url)
        args[args.index("openai/knows-it")] = "openai/o1"
        for extra in (["--max-tokens", "2000"], []):
            res = CliRunner().invoke(cli, [*args, *extra, "--yes"])
            assert res.exit_code == 0, res.output
    caps = [b.get("max_completion_tokens", b.get("max_tokens")) for b in srv.bodies]
    assert set(caps[:PLANNED]) == {2000} and set(caps[PLANNED:]) == {25_000}
    with Store(db) as store:
        capped, default = sorted(store.runs(), key=lambda r: "max_tokens" not in r.config)
    assert capped.id != default.id and capped.config["max_tokens"] == 2000 and capped.config["max_tokens_raised"] == {}
    assert "max_tokens" not in default.config  # the default cap keeps the id older probe runs have
