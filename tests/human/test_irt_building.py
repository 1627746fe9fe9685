"""eitest norms build --irt-out: 2PL parameters from simulated human responses, written with their source.

The respondents and their item parameters are SYNTHETIC, simulated by this test.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import instrument_data
from scipy import special

from eitest.cli import cli
from eitest.instruments import load, load_yaml, parse_instrument

N_ITEMS = 12


def instrument(tmp_path: Path) -> Path:
    items = [
        {
            "id": f"h{j + 1}",
            "stem": f"Situation {j + 1}.",
            "question": "Which?",
            "options": [{"id": "a", "text": "Joy"}, {"id": "b", "text": "Fear"}, {"id": "c", "text": "Hope"}],
            "key": "a",
        }
        for j in range(N_ITEMS)
    ]
    path = tmp_path / "form.yaml"
    import yaml

    path.write_text(yaml.safe_dump(instrument_data("form-h", items)))
    return path


def responses(tmp_path: Path, n: int, seed: int = 1) -> tuple[Path, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    a, b = rng.uniform(0.8, 2.0, N_ITEMS), rng.normal(0, 1, N_ITEMS)
    right = rng.random((n, N_ITEMS)) < special.expit(a * (rng.normal(size=n)[:, None] - b))
    path = tmp_path / "humans.csv"
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["participant", *[f"h{j + 1}" for j in range(N_ITEMS)]])
        for i, row in enumerate(right):
            w.writerow([f"P{i}", *["a" if r else rng.choice(["b", "c"]) for r in row]])
    return path, a, b


def test_norms_build_writes_2pl_parameters_that_load_back_into_the_instrument(tmp_path: Path):
    form = instrument(tmp_path)
    data, a, b = responses(tmp_path, 600)
    out = ["--out", str(tmp_path / "n.yaml"), "--items-out", str(tmp_path / "items.yaml")]
    res = CliRunner().invoke(
        cli, ["norms", "build", str(data), "-i", str(form), *out, "--irt-out", str(tmp_path / "irt.csv"), "--json"]
    )
    assert res.exit_code == 0, res.output
    shown = json.loads(res.stdout)["irt"]
    assert shown["n"] == 600 and shown["converged"]
    assert [r["theta"] for r in shown["information"]][:2] == [-4.0, -3.5]
    got_b = np.array([r["b"] for r in shown["items"]])
    assert np.corrcoef(got_b, b)[0, 1] > 0.95 and np.corrcoef([r["a"] for r in shown["items"]], a)[0, 1] > 0.6

    # The items file carries the parameters, each with its source, and validates as an instrument.
    items = load_yaml(tmp_path / "items.yaml").items
    assert all(it.irt is not None and it.irt.model == "2PL" and it.irt.D == 1.0 for it in items)
    assert [it.irt.b for it in items if it.irt] == pytest.approx(got_b, abs=1e-6)
    assert "humans.csv (N = 600), 2PL by marginal ML in eitest norms build on" in str(
        items[0].irt and items[0].irt.source
    )
    assert str(items[0].irt and items[0].irt.where).startswith("eitest norms build ")
    # The CSV's irt_* columns merge into an item CSV of the instrument format as they are.
    with (tmp_path / "irt.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["item_id", "irt_model", "irt_a", "irt_b", "irt_c", "irt_D", "irt_source", "irt_where"]
    merged = tmp_path / "merged.csv"
    with merged.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["item_id", "stem", "question", "option_a", "option_b", "key", *list(rows[0])[1:]])
        for r in rows:
            w.writerow([r["item_id"], "S.", "Q?", "Joy", "Fear", "a", *list(r.values())[1:]])
    meta = {k: v for k, v in instrument_data("merged", []).items() if k != "items"}
    back = load(merged, meta)
    assert [it.irt.b for it in back.items if it.irt] == pytest.approx(got_b, abs=1e-6)


def test_below_200_participants_no_parameters_and_no_file(tmp_path: Path):
    form = instrument(tmp_path)
    data, _, _ = responses(tmp_path, 120)
    res = CliRunner().invoke(
        cli, ["norms", "build", str(data), "-i", str(form), "--out", str(tmp_path / "n.yaml"), "--irt-out", str(tmp_path / "irt.csv")]
    )  # fmt: skip
    assert res.exit_code == 2
    assert (
        "Error: no IRT parameters for form-h: 120 respondents; 2PL parameters are estimated from 200 or more"
        in res.output
    )
    assert not (tmp_path / "irt.csv").exists() and not (tmp_path / "n.yaml").exists()


def test_an_item_answered_alike_by_everyone_gets_no_parameters(tmp_path: Path):
    from eitest.human.irt_building import build_irt, with_irt

    rng = np.random.default_rng(4)
    form = parse_instrument(load_yaml(instrument(tmp_path)).normalized())
    import pandas as pd

    a, b = rng.uniform(0.8, 2.0, N_ITEMS), rng.normal(0, 1, N_ITEMS)
    right = rng.random((250, N_ITEMS)) < special.expit(a * (rng.normal(size=250)[:, None] - b))
    credit = pd.DataFrame(right, columns=[it.id for it in form.items]).astype(float)
    credit["h1"] = 1.0
    built = build_irt(credit, form, source="synthetic responses", where="this test")
    assert "h1" not in built.params and any(n.startswith("item h1: no IRT parameters (everyone") for n in built.notes)
    filled = with_irt(form, built)
    assert filled.items[0].irt is None and all(it.irt is not None for it in filled.items[1:])
    assert math.isfinite(built.information["information"].iloc[0])


def test_the_irt_csv_writes_formula_like_text_as_text_and_reads_it_back(tmp_path: Path):
    """Item ids and sources come from user files: a spreadsheet must not run them; the numbers stay numbers."""
    import pandas as pd

    from eitest.human.irt_building import IrtBuild, irt_csv_text, read_irt_csv, unquoted
    from eitest.instruments import IrtParams

    source, where = '=HYPERLINK("http://x.invalid")', "@SUM(1)"
    params = {
        "=1+2": IrtParams(model="2PL", a=1.25, b=-0.5, source=source, where=where),
        "-h2": IrtParams(model="2PL", a=0.75, b=1.5, source="responses.csv (N = 300)", where=None),
    }
    text = irt_csv_text(IrtBuild(calibration=None, params=params, information=pd.DataFrame()))  # type: ignore[arg-type]
    rows = list(csv.reader(text.splitlines()))
    assert rows[1] == ["'=1+2", "2PL", "1.25", "-0.5", "0.0", "1.0", "'" + source, "'" + where]
    assert rows[2] == ["'-h2", "2PL", "0.75", "1.5", "0.0", "1.0", "responses.csv (N = 300)", ""]
    path = tmp_path / "irt.csv"
    path.write_text(text)
    back = read_irt_csv(path)
    assert list(back) == ["=1+2", "-h2"]
    assert back["=1+2"] == {"model": "2PL", "a": 1.25, "b": -0.5, "c": 0.0, "D": 1.0, "source": source, "where": where}
    assert unquoted("'plain") == "'plain" and unquoted("'-0.5x") == "-0.5x"
