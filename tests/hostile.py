"""Builders of hostile input files, shared by the hostile-input tests and the fault benchmark."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import openpyxl


def write_xlsx(path: Path, rows: list[list[str]]) -> Path:
    """A real XLSX workbook holding ``rows`` (first row = headers) in its first sheet."""
    wb = openpyxl.Workbook()
    ws = wb.active
    for r in rows:
        ws.append(r)
    wb.save(path)
    return path


def rewrite_zip(src: Path, dst: Path, change: dict[str, bytes | None]) -> Path:
    """Copy the zip ``src`` to ``dst`` with members replaced (bytes) or dropped (None)."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for name in zin.namelist():
            data = zin.read(name)
            if name in change:
                new = change[name]
                if new is None:
                    continue
                data = new
            zout.writestr(name, data)
    return dst


def sheet_member(path: Path) -> str:
    with zipfile.ZipFile(path) as z:
        return next(n for n in z.namelist() if n.startswith("xl/worksheets/sheet"))


def xlsx_without_sheets(src: Path, dst: Path) -> Path:
    """The workbook with its sheet list emptied and its sheet parts removed."""
    with zipfile.ZipFile(src) as z:
        wb = z.read("xl/workbook.xml").decode()
    wb = re.sub(r"<sheets>.*</sheets>", "<sheets/>", wb, flags=re.S)
    return rewrite_zip(src, dst, {"xl/workbook.xml": wb.encode(), sheet_member(src): None})


def xlsx_truncated_sheet(src: Path, dst: Path, keep: float = 0.5) -> Path:
    """The workbook with its first sheet's XML cut off after ``keep`` of its bytes."""
    member = sheet_member(src)
    with zipfile.ZipFile(src) as z:
        data = z.read(member)
    return rewrite_zip(src, dst, {member: data[: int(len(data) * keep)]})
