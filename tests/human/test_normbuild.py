"""`eitest norms build`: norm figures and item statistics from a response file, checked by hand-written numpy."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner
from conftest import instrument_data
from scipy import stats

from eitest.cli import cli
from eitest.human.norm_building import ResponseError, build_norms, items_instrument, write_norm_file
from eitest.instruments import catalogue, load_yaml
from eitest.instruments.norms import load_norm_file

KEYED = instrument_data(
    "mini-keyed",
    [
        {
            "id": f"k{i}",
            "stem": f"Situation {i}.",
            "question": "Feeling?",
            "options": [{"id": o, "text": o.upper()} for o in "abc"],
            "key": key,
        }
        for i, key in enumerate("abcab", start=1)
    ],
    name="Mini keyed test",
)
WEIGHTED = {
    **{k: v for k, v in KEYED.items() if k != "items"},
    "id": "mini-weighted",
    "scoring": "weighted",
    "items": [
        {
            "id": f"w{i}",
            "stem": f"Situation {i}.",
            "question": "Best action?",
            "options": [{"id": o, "text": o.upper()} for o in "abcd"],
            "weights": dict(zip("abcd", w, strict=True)),
        }
        for i, w in enumerate([(0.6, 0.3, 0.1, 0.0), (0.1, 0.7, 0.2, 0.0), (0.0, 0.2, 0.2, 0.6)], start=1)
    ],
}

# 10 participants x 5 keyed items: chosen option ids.
KEYED_ANSWERS = [
    "abcab",
    "abcaa",
    "abbab",
    "accbb",
    "bbcab",
    "cacab",
    "abcab",
    "bacbc",
    "abaab",
    "cbccc",
]
WEIGHTED_ANSWERS = ["abd", "bbd", "acd", "abc", "dba", "aad", "cbd", "abb"]


def write_instrument(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / f"{data['id']}.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def write_responses(path: Path, item_ids: list[str], answers: list[str], participants: bool = True) -> Path:
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow((["participant"] if participants else []) + item_ids)
        for n, row in enumerate(answers, start=1):
            w.writerow(([f"P{n:02d}"] if participants else []) + list(row))
    return path


def numpy_alpha(x: np.ndarray) -> float:
    k = x.shape[1]
    return k / (k - 1) * (1 - x.var(axis=0, ddof=1).sum() / x.sum(axis=1).var(ddof=1))


def test_keyed_figures_match_numpy(tmp_path: Path):
    inst = load_yaml(write_instrument(tmp_path, KEYED))
    keys = np.array([it["key"] for it in KEYED["items"]])
    resp = write_responses(tmp_path / "responses.csv", [it.id for it in inst.items], KEYED_ANSWERS)
    x = (np.array([list(r) for r in KEYED_ANSWERS]) == keys).astype(float)  # participants x items, 0/1
    n, k = x.shape

    built = build_norms(resp, inst, date="2026-11-28")
    # per-participant score = proportion correct
    assert built.scores["score"].to_numpy() == pytest.approx(x.mean(axis=1))
    assert built.n == n == 10
    assert built.mean == pytest.approx(x.mean(axis=1).mean())
    assert built.sd == pytest.approx(x.mean(axis=1).std(ddof=1))
    # KR-20 = alpha for 0/1 items, with Feldt's interval
    alpha = numpy_alpha(x)
    p = x.mean(axis=0)
    kr20 = k / (k - 1) * (1 - (p * (1 - p)).sum() / x.sum(axis=1).var(ddof=0))
    assert alpha == pytest.approx(kr20)
    assert built.reliability["name"] == "KR-20"
    assert built.reliability["alpha"] == pytest.approx(alpha, abs=1e-12)
    # By hand: totals 5,4,4,3,4,3,5,1,4,2 (variance 14.5 / 9); item variances sum to 1.03 * 10 / 9;
    # alpha = 5/4 * (1 - 1.1444 / 1.6111) = 21/58.
    assert alpha == pytest.approx(21 / 58)
    lo = 1 - (1 - alpha) * stats.f.ppf(0.975, n - 1, (n - 1) * (k - 1))
    hi = 1 - (1 - alpha) * stats.f.ppf(0.025, n - 1, (n - 1) * (k - 1))
    assert (built.reliability["ci_low"], built.reliability["ci_high"]) == pytest.approx((lo, hi))
    # item p-values and corrected item-total correlations
    items = built.items.set_index("item")
    assert items["human_p"].to_numpy() == pytest.approx(p)
    assert p.tolist() == pytest.approx([0.6, 0.7, 0.8, 0.7, 0.7])
    for i, item_id in enumerate(items.index):
        rest = np.delete(x, i, axis=1).sum(axis=1)
        assert items.loc[item_id, "r_corrected"] == pytest.approx(np.corrcoef(x[:, i], rest)[0, 1])

    # the norm file loads and says where each figure comes from
    out = write_norm_file(built, tmp_path / "norm.yaml")
    nf = load_norm_file(out)
    assert nf.source.id == "mini-keyed-responses"
    assert (
        nf.source.citation == "Responses in responses.csv (10 participants), built by eitest norms build on 2026-11-28"
    )
    assert nf.source.checked == "computed from the response file"
    (norm,) = nf.norms
    assert (
        norm.instrument == "mini-keyed" and norm.scoring == "keyed" and norm.scale == "proportion" and norm.n_items == 5
    )
    assert (norm.value("n"), norm.value("mean"), norm.value("sd"), norm.value("alpha")) == pytest.approx(
        (10, built.mean, built.sd, alpha)
    )
    assert norm.n.where == norm.mean.where == norm.sd.where == "computed from responses.csv"
    assert norm.alpha.where.startswith("computed from responses.csv")


def test_weighted_credit_and_top_option_share(tmp_path: Path):
    inst = load_yaml(write_instrument(tmp_path, WEIGHTED))
    resp = write_responses(tmp_path / "w.csv", [it.id for it in inst.items], WEIGHTED_ANSWERS, participants=False)
    weights = [it["weights"] for it in WEIGHTED["items"]]
    credit = np.array([[weights[j][c] for j, c in enumerate(row)] for row in WEIGHTED_ANSWERS])
    top = ["a", "b", "d"]
    chose_top = np.array([[c == top[j] for j, c in enumerate(row)] for row in WEIGHTED_ANSWERS], dtype=float)

    built = build_norms(resp, inst, source_id="my-sample", sample="Eight colleagues, 2026")
    assert built.reliability["name"] == "Cronbach's alpha"
    assert built.reliability["alpha"] == pytest.approx(numpy_alpha(credit))
    assert built.mean == pytest.approx(credit.mean(axis=1).mean()) and built.sd == pytest.approx(
        credit.mean(axis=1).std(ddof=1)
    )
    items = built.items.set_index("item")
    assert items["human_p"].to_numpy() == pytest.approx(chose_top.mean(axis=0))
    assert items["mean_credit"].to_numpy() == pytest.approx(credit.mean(axis=0))
    assert built.scores["participant"].tolist()[0] == "w.csv:2"  # no participant column: file and line
    norm = built.norm
    assert norm.scoring == "weighted" and norm.sample == "Eight colleagues, 2026" and norm.source.id == "my-sample"
    # the instrument copy carries human_p and the item statistics
    copy = items_instrument(built)
    assert [it.human_p for it in copy.items] == pytest.approx(chose_top.mean(axis=0))
    assert copy.items[0].meta["norm_source"] == "my-sample"


def test_missing_answers_wrong_or_dropped(tmp_path: Path):
    inst = load_yaml(write_instrument(tmp_path, KEYED))
    answers = [list(r) for r in KEYED_ANSWERS]
    answers[2][1] = ""  # P03 skipped k2 (would have been right)
    resp = write_responses(
        tmp_path / "r.csv", [it.id for it in inst.items], ["".join(r) if "" not in r else r for r in answers]
    )
    wrong = build_norms(resp, inst)
    assert wrong.n == 10 and wrong.scores["score"][2] == pytest.approx(3 / 5)
    assert any("scored as wrong" in n for n in wrong.notes)
    dropped = build_norms(resp, inst, missing="drop")
    assert dropped.n == 9 and "P03" not in dropped.scores["participant"].tolist()


def test_usable_by_analyze(tmp_path: Path):
    from eitest.administer.runner import run_study
    from eitest.administer.study import Study
    from eitest.scoring.analysis import analyze

    steu = catalogue()["open-steu"]
    rng = np.random.default_rng(7)
    rows = []
    for _ in range(40):
        ability = rng.normal(0.3, 1.0)
        rows.append(
            [
                it.key
                if rng.random() < 1 / (1 + np.exp(-ability))
                else rng.choice([o for o in it.option_ids if o != it.key])
                for it in steu.items
            ]
        )
    resp = write_responses(tmp_path / "steu-sample.csv", [it.id for it in steu.items], rows)
    res = CliRunner().invoke(
        cli,
        [
            "norms",
            "build",
            str(resp),
            "--instrument",
            "open-steu",
            "--out",
            str(tmp_path / "n.yaml"),
            "--items-out",
            str(tmp_path / "items.yaml"),
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    built = load_norm_file(tmp_path / "n.yaml").norms[0]
    x = np.array([[c == it.key for c, it in zip(r, steu.items, strict=True)] for r in rows], dtype=float)
    assert built.value("mean") == pytest.approx(x.mean()) and built.value("alpha") == pytest.approx(numpy_alpha(x))
    assert [it.human_p for it in load_yaml(tmp_path / "items.yaml").items] == pytest.approx(x.mean(axis=0))

    db = tmp_path / "o.db"
    run_study(Study(models=["eitest/oracle"], instruments=["open-steu"]), db)
    scores = analyze(db, norms=[tmp_path / "n.yaml"]).scores.iloc[0]
    assert scores["norm_source"] == "open-steu-steu-sample"
    assert scores["norm_mean"] == pytest.approx(x.mean()) and scores["norm_sd"] == pytest.approx(
        x.mean(axis=1).std(ddof=1)
    )
    assert scores["norm_n"] == 40 and scores["z"] == pytest.approx((1 - x.mean()) / x.mean(axis=1).std(ddof=1))


def test_default_output_is_found_by_the_norm_catalogue(tmp_path: Path):
    from eitest.instruments.norms import norm_for

    inst = load_yaml(write_instrument(tmp_path, KEYED))
    resp = write_responses(tmp_path / "r.csv", [it.id for it in inst.items], KEYED_ANSWERS)
    path = write_norm_file(build_norms(resp, inst, source_id="lab-2026"))
    assert path.parent.name == "human_norms" and path.name == "lab-2026.yaml"
    assert norm_for("mini-keyed").source.id == "lab-2026"


@pytest.mark.parametrize(
    "content, expected",
    [
        ("", "the file is empty"),
        ("participant,k1,k2,k3,k4,k5\n", "a header but no participant rows"),
        ("participant,k1,k2,k3,k4,k5,k9\nP1,a,b,c,a,b,a\n", "column k9: not an item of mini-keyed"),
        ("participant,k1,k2,k3,k4\nP1,a,b,c,a\n", "no column for item(s) k5"),
        (
            "participant,k1,k2,k3,k4,k5\nP1,a,b,c,a,b\nP2,a,z,c,a,b\n",
            "line 3, column k2: 'z' is not an option of item k2 (a, b, c)",
        ),
        ("participant,k1,k2,k3,k4,k5\nP1,A,b,c,a,b\n", "did you mean 'a'?"),
        (
            "participant,k1,k2,k3,k4,k5\nP1,a,b,c,a,b\nP1,a,b,c,a,b\n",
            "line 3, column participant: participant 'P1' again",
        ),
        ("participant,k1,k2,k3,k4,k5\nP1,a,b,c,a,b,x\n", "line 2: 7 cells but the header has 6 columns"),
    ],
    ids=[
        "empty",
        "header-only",
        "unknown-column",
        "missing-item",
        "bad-option",
        "case",
        "duplicate-participant",
        "long-row",
    ],
)
def test_bad_input_is_a_clear_error(tmp_path: Path, content: str, expected: str):
    inst_path = write_instrument(tmp_path, KEYED)
    resp = tmp_path / "bad.csv"
    resp.write_text(content)
    with pytest.raises(ResponseError, match=None) as err:
        build_norms(resp, load_yaml(inst_path))
    assert expected in str(err.value) and str(resp) in str(err.value)
    res = CliRunner().invoke(
        cli, ["norms", "build", str(resp), "--instrument", str(inst_path), "--out", str(tmp_path / "n.yaml")]
    )
    assert res.exit_code == 2 and expected in res.output and "Traceback" not in res.output
    assert not (tmp_path / "n.yaml").exists()
