"""A directory, an unwritable path or a full disk as an output: a clear error naming the path, nothing else lost."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pandas as pd
import pytest
from conftest import run_cli

from eitest.administer.runner import run_study
from eitest.administer.study import Study
from eitest.outputs.export import export
from eitest.outputs.report import write_pdf, write_report
from eitest.outputs.writing import (
    OutputError,
    check_output_file,
    check_output_folder,
    output_error,
    write_binary,
    write_text,
)


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("paths") / "p.db"
    run_study(Study(models=["eitest/oracle"], instruments=["open-steu"]), path)
    return path


def _full_disk(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def test_messages_name_the_path_and_the_problem(tmp_path: Path):
    target = tmp_path / "report.pdf"
    assert str(output_error(target, PermissionError(errno.EACCES, "x"))) == (
        f"cannot write {target}: permission denied; choose a path you can write to (nothing was written there)"
    )
    assert str(output_error(target, OSError(errno.ENOSPC, "x"))) == (
        f"cannot write {target}: the disk is full; free some space, or choose another disk, and run the command "
        "again (nothing was written there)"
    )
    target.mkdir()
    with pytest.raises(OutputError, match=r"cannot write .*report\.pdf: it is a directory; give a file name"):
        check_output_file(target)
    afile = tmp_path / "afile"
    afile.write_text("x")
    with pytest.raises(OutputError, match=r"cannot write into .*afile/sub: .*afile is a file, not a folder"):
        check_output_file(afile / "sub" / "r.html")
    with pytest.raises(OutputError, match=r"cannot write into .*afile: it is a file, not a folder"):
        check_output_folder(afile)
    assert not (tmp_path / "new").exists() and check_output_folder(tmp_path / "new" / "deeper")
    assert not (tmp_path / "new").exists()  # checked, not made


def test_permission_denied_is_said_before_anything_is_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(
        os, "access", lambda path, mode: False
    )  # as for a user without write access (tests run as root)
    with pytest.raises(OutputError, match=r"cannot write .*: permission denied; choose a path you can write to"):
        write_text(tmp_path / "r.html", "text")
    assert list(tmp_path.iterdir()) == []


def test_a_full_disk_keeps_the_earlier_file_and_no_temporary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    html = tmp_path / "r.html"
    html.write_text("the earlier report", encoding="utf-8")
    monkeypatch.setattr(Path, "write_bytes", _full_disk)
    with pytest.raises(OutputError, match=r"cannot write .*r\.html: the disk is full"):
        write_text(html, "the new report")
    monkeypatch.undo()
    assert html.read_text(encoding="utf-8") == "the earlier report"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.html"]


def test_a_binary_file_is_written_whole_or_not_at_all(tmp_path: Path):
    pdf = tmp_path / "r.pdf"
    pdf.write_bytes(b"earlier")

    def half_then_full(tmp: Path) -> None:
        tmp.write_bytes(b"half")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OutputError, match="the disk is full"):
        write_binary(pdf, half_then_full)
    assert pdf.read_bytes() == b"earlier" and sorted(p.name for p in tmp_path.iterdir()) == ["r.pdf"]
    assert write_binary(pdf, lambda tmp: tmp.write_bytes(b"new")) == pdf and pdf.read_bytes() == b"new"


def test_report_paths_are_checked_before_the_report_is_made(db: Path, tmp_path: Path):
    (tmp_path / "adir").mkdir()
    with pytest.raises(OutputError, match=r"cannot write .*adir: it is a directory"):
        write_report(db, tmp_path / "r.html", tmp_path / "adir")
    assert not (tmp_path / "r.html").exists()  # nothing half done
    with pytest.raises(OutputError, match="it is a directory"):
        write_pdf("<p>x</p>", tmp_path / "adir")


def test_report_pdf_on_a_full_disk_keeps_the_earlier_pdf(db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    import weasyprint

    pdf = tmp_path / "r.pdf"
    pdf.write_bytes(b"%PDF earlier")
    monkeypatch.setattr(weasyprint.HTML, "write_pdf", _full_disk)
    with pytest.raises(OutputError, match=r"cannot write .*r\.pdf: the disk is full"):
        write_report(db, tmp_path / "r.html", pdf)
    assert pdf.read_bytes() == b"%PDF earlier" and not list(tmp_path.glob(".*tmp"))


def test_export_on_a_full_disk_keeps_the_earlier_export(db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    export(db, tmp_path, "csv")
    before = (tmp_path / "trials.csv").read_bytes()
    monkeypatch.setattr(pd.DataFrame, "to_csv", _full_disk)
    with pytest.raises(OutputError, match=r"cannot write .*trials\.csv: the disk is full"):
        export(db, tmp_path, "csv")
    assert (tmp_path / "trials.csv").read_bytes() == before and not list(tmp_path.glob(".*tmp"))


@pytest.mark.parametrize(
    "args",
    [
        ("report", "--db", "{db}", "--out", "{file}/r.html"),
        ("report", "--db", "{db}", "--out", "{tmp}/r.html", "--pdf", "{file}/r.pdf"),
        ("export", "--db", "{db}", "--format", "csv", "--out", "{file}/out"),
        ("survey", "export", "-i", "open-steu", "--format", "csv", "--out", "{file}/s.csv"),
        ("generate", "--instrument", "open-steu", "--model", "eitest/oracle", "--n", "1", "--out", "{file}/g.yaml"),
    ],
)
def test_cli_commands_say_which_output_path_is_wrong(db: Path, tmp_path: Path, args: tuple[str, ...]):
    afile = tmp_path / "afile"
    afile.write_text("not a folder")
    res = run_cli(*(a.format(db=db, file=afile, tmp=tmp_path) for a in args))
    assert res.returncode == 2, res.stdout + res.stderr
    assert "Traceback" not in res.stderr
    assert f"Error: cannot write into {afile}" in res.stderr and "is a file, not a folder" in res.stderr
    assert afile.read_text() == "not a folder"


def test_a_pdf_without_weasyprints_libraries_says_what_to_install_and_the_html_is_kept(
    db: Path, tmp_path: Path, monkeypatch
):
    import sys

    monkeypatch.setitem(sys.modules, "weasyprint", None)  # as when its Pango libraries cannot be loaded
    res = run_cli("report", "--db", str(db), "--out", str(tmp_path / "r.html"), "--pdf", str(tmp_path / "r.pdf"))
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert f"Error: cannot write the PDF {tmp_path / 'r.pdf'}: WeasyPrint could not load (" in res.stderr
    assert "'apt-get install libpango-1.0-0 libpangoft2-1.0-0' on Debian or Ubuntu" in res.stderr
    assert (tmp_path / "r.html").stat().st_size > 0 and not (tmp_path / "r.pdf").exists()
