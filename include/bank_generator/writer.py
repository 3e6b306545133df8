"""Append-mode writer of the landing files, the injected dirt and its manifest.

Blocks of customers arrive in customer order; each block's rows of an entity are
appended to that entity's file of each business date. Within a file, rows are in
customer order, so a file is the same whatever the block size. The writer keeps
only what the manifest needs across blocks: how many lines each file has (the
manifest names file and line), each file's deferred broken-quoting line (that
defect swallows what follows it, so it must end its file) and the manifest itself
as compact arrays.
"""

from __future__ import annotations

import csv
import io
import shutil
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from include.bank_generator import dirt, hostile_text
from include.bank_generator.shared import SharedData
from include.bank_generator.tables import DAY_KEY, EntityRows
from include.landing.entities import ENTITIES, Entity, landing_dir, landing_file_name

WRITE_OPTIONS = pacsv.WriteOptions(include_header=False, quoting_style="needed")
MAX_LATE_DAYS = 10
KIND_CODES = (*dirt.ROW_KINDS, dirt.LATE, dirt.REDELIVERED)
COLUMN_NAMES = ("", *sorted({c.name for e in ENTITIES for c in e.columns}))
COLUMN_CODE = {name: i for i, name in enumerate(COLUMN_NAMES)}


def render(table: pa.Table) -> bytes:
    """CSV body (no header) exactly as the landing contract asks."""
    table = pa.table(
        {
            name: col.cast(pa.string()) if pa.types.is_dictionary(col.type) else col
            for name, col in zip(table.column_names, table.columns, strict=True)
        }
    )
    out = io.BytesIO()
    pacsv.write_csv(table, out, WRITE_OPTIONS)
    return out.getvalue()


@dataclass(frozen=True)
class Sample:
    """The first row written of an entity: the source of defects planted at the end."""

    file: str
    values: dict[str, object]
    business_date: str


class LandingWriter:
    def __init__(
        self,
        landing: Path,
        shared: SharedData,
        seed: int,
        dirt_rate: float,
        parents: Mapping[str, dirt.KeySpace],
        hostile: hostile_text.HostilePlan | None = None,
    ) -> None:
        self.landing, self.shared, self.seed = landing, shared, seed
        self.rate, self.parents = dirt_rate, parents
        self.hostile = hostile
        # (file, line, entity, column, key, value name, outcome) of each hostile value
        self.hostile_cells: list[tuple[str, int, str, str, str, str, str]] = []
        self.lines: dict[str, int] = {}  # lines written so far, header included
        self.entity_of: dict[str, Entity] = {}
        self.file_number: dict[str, int] = {}
        self.quoting: dict[str, tuple[str, str]] = {}  # file -> (line, column) to end it with
        self.samples: dict[str, Sample] = {}
        self.manifest: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        self.rows: Counter[str] = Counter()
        self.seen: set[str] = set()
        self.copies: list[str] = []
        # one open file per business date and entity (a few thousand: within the
        # usual limit of open files; each holds only its write buffer)
        self.handles: dict[str, BinaryIO] = {}

    # -- writing -----------------------------------------------------------------
    def _append(self, rel: str, entity: Entity, data: bytes, lines: int) -> int:
        """Append ``lines`` lines; returns the number of lines the file had before."""
        before = self.lines.get(rel)
        if before is None:
            path = self.landing / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            self.handles[rel] = open(path, "wb")  # noqa: SIM115 - closed in finish()
            self.handles[rel].write((",".join(entity.column_names) + "\n").encode())
            before = 1
            self.entity_of[rel] = entity
            self.file_number[rel] = len(self.file_number)
        self.handles[rel].write(data)
        self.lines[rel] = before + lines
        return before

    def close(self) -> None:
        for handle in self.handles.values():
            handle.close()
        self.handles.clear()

    def _record(self, rel: str, lines: list[int], kinds: list[str], columns: list[str]) -> None:
        if not lines:
            return
        self.manifest.append(
            (
                np.full(len(lines), self.file_number[rel], np.int32),
                np.asarray(lines, np.int64),
                np.array([KIND_CODES.index(k) for k in kinds], np.int8),
                np.array([COLUMN_CODE[c] for c in columns], np.int16),
            )
        )
        self.seen.update(kinds)

    def _late_arrivals(self, rows: EntityRows) -> tuple[np.ndarray, np.ndarray]:
        """Business day of each transaction after moving a share of them 1-10 days on."""
        if rows.entity.name != "transactions" or self.rate <= 0:
            return rows.day, np.zeros(len(rows.day), bool)
        draw = self.shared.random.events("late_arrival", rows.customer, rows.order)
        later = rows.day + draw.integers("delay", 1, MAX_LATE_DAYS + 1)
        late = (draw.uniform("late") < self.rate) & (later < self.shared.days)
        return np.where(late, later, rows.day), late

    def write(self, rows: EntityRows) -> None:
        """Append one block's rows of one entity to the files of their business days."""
        entity = rows.entity
        day, late = self._late_arrivals(rows)
        order = np.lexsort((rows.order, rows.customer, day))
        if np.array_equal(order, np.arange(len(order))):
            table = rows.table  # tables.py delivers most rows in file order already
        else:
            table = rows.table.take(pa.array(order))
            day, late = day[order], late[order]
        customer, key = rows.customer[order], rows.order[order]
        self.rows[entity.name] += len(day)
        if not len(day):
            return
        # Hostile text goes into the rendered rows only: defects and samples copy clean rows.
        shown, cells = self._with_hostile_text(entity, table, customer)
        body = render(shown)
        # A value holding a line break makes its record span lines (quoted, as the
        # contract asks): offsets[r] = physical lines before row r in the body.
        row_lines = np.ones(len(day), np.int64)
        for row, _, value in cells:
            row_lines[row] += value.text.count("\n")
        offsets = np.r_[0, np.cumsum(row_lines)]
        newlines = np.flatnonzero(np.frombuffer(body, np.uint8) == 10) + 1
        if len(newlines) != offsets[-1]:
            raise ValueError(f"{entity.name}: a rendered row spans lines")
        ends = newlines[offsets[1:] - 1]
        starts = np.r_[0, ends[:-1]]
        defects = self._plan_defects(entity, customer, key, day)
        defect_rows = np.array([row for row, _, _, _ in defects], np.int64)
        sources = table.take(pa.array(defect_rows)).to_pylist()
        first = np.flatnonzero(np.r_[True, day[1:] != day[:-1]])
        days, bounds = day[first], np.r_[first, len(day)]
        for number, business_day in enumerate(days.tolist()):
            low, high = int(bounds[number]), int(bounds[number + 1])
            date = str(self.shared.calendar.start + business_day)
            folder = landing_dir(entity.system, entity.name, date)
            rel = f"{folder}/{landing_file_name(entity.name, date)}"
            if entity.name not in self.samples:
                self.samples[entity.name] = Sample(rel, table.slice(low, 1).to_pylist()[0], date)
            inline: list[tuple[int, str, str, str]] = []  # (row, kind, column, line)
            first_defect, last_defect = np.searchsorted(defect_rows, [low, high])
            for i in range(int(first_defect), int(last_defect)):
                row, kind, column, bits = defects[i]
                if kind == "broken_quoting" and rel in self.quoting:
                    kind, column = "malformed_field_count", ""
                text = dirt.defect_line(
                    np.random.default_rng(bits),
                    entity,
                    sources[i],
                    kind,
                    column,
                    business_day + 1,
                    date,
                    self.parents,
                )
                if kind == "broken_quoting":
                    self.quoting[rel] = (text, column)
                else:
                    inline.append((row, kind, column, text))
            pieces, cut = [], int(starts[low])
            for row, _, _, text in inline:
                pieces += [body[cut : int(ends[row])], text.encode()]
                cut = int(ends[row])
            pieces.append(body[cut : int(ends[high - 1])])
            lines_of_rows = int(offsets[high] - offsets[low])
            before = self._append(rel, entity, b"".join(pieces), lines_of_rows + len(inline))
            source_rows = np.array([row for row, *_ in inline], np.int64)
            self._record(
                rel,
                [
                    before + int(offsets[row + 1] - offsets[low]) + rank + 1
                    for rank, (row, *_) in enumerate(inline)
                ],
                [kind for _, kind, _, _ in inline],
                [column for _, _, column, _ in inline],
            )
            for row, column, value in cells:
                if low <= row < high:
                    line = before + int(offsets[row] - offsets[low]) + 1
                    line += int(np.searchsorted(source_rows, row))
                    self._record_hostile(rel, line, entity, column, shown, row, value)
            moved = np.flatnonzero(late[low:high]) + low
            if len(moved):
                lines = (
                    before
                    + (offsets[moved] - offsets[low] + 1)
                    + np.searchsorted(source_rows, moved)
                )
                self._record(
                    rel,
                    lines.tolist(),
                    [dirt.LATE] * len(moved),
                    ["transaction_date"] * len(moved),
                )

    def _with_hostile_text(
        self, entity: Entity, table: pa.Table, customer: np.ndarray
    ) -> tuple[pa.Table, list[tuple[int, str, hostile_text.HostileValue]]]:
        """``table`` with the planned hostile values in place, and (row, column, value) of each."""
        plan = self.hostile
        if plan is None:
            return table, []
        cells: list[tuple[int, str, hostile_text.HostileValue]] = []
        if entity.name == "customers":
            targets = np.flatnonzero(np.isin(customer, list(plan.customer_values)))
            for row in targets.tolist():  # every delivery of the customer (the latest wins)
                for column, value in plan.customer_values[int(customer[row])]:
                    cells.append((row, column, value))
        elif entity.name == "transactions":
            wanted = np.isin(customer, list(plan.counterparty_values))
            kinds = table.column("counterparty_type").to_numpy(zero_copy_only=False)
            named = table.column("counterparty_name").is_valid().to_numpy(zero_copy_only=False)
            candidates = np.flatnonzero(
                wanted & named & np.isin(kinds, hostile_text.COUNTERPARTY_TYPES)
            )
            _, first = np.unique(customer[candidates], return_index=True)
            for row in candidates[first].tolist():
                cells.append((row, "counterparty_name", plan.counterparty_values[customer[row]]))
        elif entity.name in plan.reference_values:
            for place, (column, value) in sorted(plan.reference_values[entity.name].items()):
                if place < table.num_rows:
                    cells.append((place, column, value))
        cells.sort(key=lambda cell: (cell[0], entity.column_names.index(cell[1])))
        for column in sorted({column for _, column, _ in cells}):
            mine = [(row, value.text) for row, name, value in cells if name == column]
            mask = np.zeros(table.num_rows, bool)
            mask[[row for row, _ in mine]] = True
            original = table.column(column).combine_chunks()
            if pa.types.is_dictionary(original.type):
                original = original.cast(pa.string())
            replaced = pc.replace_with_mask(
                original, pa.array(mask), pa.array([text for _, text in mine], pa.string())
            )
            table = table.set_column(table.schema.get_field_index(column), column, replaced)
        return table, cells

    def _record_hostile(
        self,
        rel: str,
        line: int,
        entity: Entity,
        column: str,
        table: pa.Table,
        row: int,
        value: hostile_text.HostileValue,
    ) -> None:
        key = ",".join(str(table.column(name)[row].as_py()) for name in entity.key)
        self.hostile_cells.append(
            (rel, line, entity.name, column, key, value.name, value.outcome(column))
        )

    def _plant_rejected_text(self) -> None:
        """Extra rows holding the values the contract refuses: a copy of each slot's
        sample row with a fresh key, appended to the sample's file."""
        serial = 0
        for value in hostile_text.REJECTED:
            for name, column in hostile_text.REJECTED_SLOTS:
                sample = self.samples.get(name)
                if sample is None:
                    continue
                entity = self.entity_of[sample.file]
                serial += 1
                fields = {c: dirt._text(sample.values[c]) for c in entity.column_names}
                key = entity.key[0]
                fields[key] = f"{fields[key]}{hostile_text.EXTRA_KEY_SUFFIX}{serial}"
                fields[column] = value.text
                text = dirt._line(list(fields.values()))
                before = self._append(sample.file, entity, text.encode(), text.count("\n"))
                self.hostile_cells.append(
                    (
                        sample.file,
                        before + 1,
                        entity.name,
                        column,
                        fields[key],
                        value.name,
                        value.outcome(column),
                    )
                )

    def write_hostile_manifest(self, path: Path) -> int:
        """``ground_truth/hostile_text.csv``: one row per planted value; returns the count."""
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(hostile_text.MANIFEST_COLUMNS)
            writer.writerows(sorted(self.hostile_cells, key=lambda c: (c[0], c[1], c[3])))
        return len(self.hostile_cells)

    def _plan_defects(
        self, entity: Entity, customer: np.ndarray, key: np.ndarray, day: np.ndarray
    ) -> list[tuple[int, str, str, int]]:
        """(row, kind, column, random seed) of the rows that get a broken copy."""
        kinds = dirt.usable_kinds(entity)
        if self.rate <= 0 or not kinds:
            return []
        draw = self.shared.random.events(f"dirt.{entity.name}", customer, key * DAY_KEY + day)
        rows = np.flatnonzero(draw.uniform("defect") < self.rate)
        picked = draw.subset(rows)
        kind_index = (picked.uniform("kind") * len(kinds)).astype(np.int64)
        column_point = picked.uniform("column")
        bits = picked.bits("line")
        out = []
        for row, k, point, seed in zip(
            rows.tolist(), kind_index.tolist(), column_point.tolist(), bits.tolist(), strict=True
        ):
            kind = kinds[k]
            columns = dirt.kind_columns(entity, kind)
            out.append((row, kind, columns[int(point * len(columns))], seed))
        return out

    # -- closing -------------------------------------------------------------------
    def finish(self) -> dict[str, object]:
        """Plant the kinds no row drew, end files with their broken quoting, copy
        re-delivered files and write the manifest; returns counts for the summary."""
        if self.rate > 0:
            self._plant_missing_kinds()
        if self.hostile is not None:
            self._plant_rejected_text()
        for rel in sorted(self.quoting):
            text, column = self.quoting[rel]
            before = self._append(rel, self.entity_of[rel], text.encode(), 1)
            self._record(rel, [before + 1], ["broken_quoting"], [column])
        self.close()
        self.copies = self._redeliver() if self.rate > 0 else []
        return {"files": len(self.lines) + len(self.copies)}

    def _plant_missing_kinds(self) -> None:
        for number, kind in enumerate(dirt.ROW_KINDS):
            if kind in self.seen or (kind == "broken_quoting" and self.quoting):
                continue
            for entity in ENTITIES:
                sample = self.samples.get(entity.name)
                if sample is None or kind not in dirt.usable_kinds(entity):
                    continue
                column = dirt.kind_columns(entity, kind)[0]
                text = dirt.defect_line(
                    np.random.default_rng([self.seed, 6, number]),
                    entity,
                    sample.values,
                    kind,
                    column,
                    self.shared.days + 1 + number,
                    sample.business_date,
                    self.parents,
                )
                if kind == "broken_quoting":
                    self.quoting[sample.file] = (text, "")
                else:
                    before = self._append(sample.file, entity, text.encode(), 1)
                    self._record(sample.file, [before + 1], [kind], [column])
                break

    def _redeliver(self) -> list[str]:
        """Byte copies of a share of the delta files (at least one)."""
        rng = np.random.default_rng([self.seed, 4])
        candidates = sorted(r for r, e in self.entity_of.items() if e.delivery != "snapshot")
        chosen = [r for r in candidates if rng.random() < min(1.0, 2 * self.rate)]
        if not chosen and candidates:
            chosen = [candidates[int(rng.integers(len(candidates)))]]
        copies = []
        for rel in chosen:
            entity = self.entity_of[rel]
            date = rel.split("business_date=")[1][:10]
            folder = landing_dir(entity.system, entity.name, date)
            copy = f"{folder}/{landing_file_name(entity.name, date, 'redelivered')}"
            shutil.copyfile(self.landing / rel, self.landing / copy)
            copies.append(copy)
        return copies

    def write_manifest(self, path: Path, chunk: int = 100_000) -> dict[str, int]:
        """The manifest, sorted by file, line and kind (sorted as arrays and written in
        chunks, so it never becomes millions of Python rows); returns the count of
        each kind."""
        files = list(self.file_number)
        parts = list(self.manifest)
        for copy in self.copies:
            files.append(copy)
            parts.append(
                (
                    np.array([len(files) - 1], np.int32),
                    np.zeros(1, np.int64),
                    np.array([KIND_CODES.index(dirt.REDELIVERED)], np.int8),
                    np.zeros(1, np.int16),
                )
            )
        file_rank = np.argsort(np.argsort(np.array(files, dtype=object)))
        kind_rank = np.argsort(np.argsort(np.array(KIND_CODES)))
        if parts:
            file_id, line, kind, column = (np.concatenate(x) for x in zip(*parts, strict=True))
        else:
            file_id = line = kind = column = np.zeros(0, np.int64)
        order = np.lexsort((kind_rank[kind], line, file_rank[file_id]))
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(dirt.MANIFEST_COLUMNS)
            for start in range(0, len(order), chunk):
                at = order[start : start + chunk]
                writer.writerows(
                    (files[f], str(n) if n else "", KIND_CODES[k], COLUMN_NAMES[c])
                    for f, n, k, c in zip(
                        file_id[at].tolist(),
                        line[at].tolist(),
                        kind[at].tolist(),
                        column[at].tolist(),
                        strict=True,
                    )
                )
        counts = np.bincount(kind.astype(np.int64), minlength=len(KIND_CODES))
        return {KIND_CODES[i]: int(counts[i]) for i in np.argsort(KIND_CODES) if counts[i]}
