"""Where seed rows come from: a small :class:`RowSource` protocol and the sources that need no Airflow.

A source yields rows (mappings of column -> value) as a stream, from the start on every call of
:meth:`RowSource.rows`, and describes itself for resume keys. A new kind of source is one class:
:class:`ListSource` (a list of dicts), :class:`FileSource` (CSV or JSON Lines, local or through any
opener of binary streams). The operator adds the sources that need Airflow (object storage, SQL).
"""

from __future__ import annotations

import codecs
import csv
import json
import os
import sys
from typing import TYPE_CHECKING, Any, Protocol

from airflow_provider_mparticle.client.core.errors import MParticleError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Mapping
    from typing import IO

FILE_FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl"}


class SeedSourceError(MParticleError):
    """A source cannot be read as rows (bad format, encoding, field): a fault of the input, not transient."""


class RowSource(Protocol):
    """The rows of a seed load.

    ``rows()`` streams the rows from the first one on every call (a validation pass and a sending pass
    each call it once). ``key()`` is a JSON-able description of what is read (for resume keys; None
    when the source cannot be read again the same way, e.g. a one-shot iterator).
    """

    def rows(self) -> Iterator[Mapping[str, Any]]: ...

    def key(self) -> Any: ...


class ListSource:
    """Rows given as a list (or any iterable; a one-shot iterator can be read only once).

    :param rows: the rows, one dict per user.
    """

    def __init__(self, rows: Iterable[Mapping[str, Any]]) -> None:
        self._rows = rows

    def rows(self) -> Iterator[Mapping[str, Any]]:
        yield from self._rows

    def key(self) -> Any:
        """The number of rows of a list; None for an iterator, which a resumed load could not re-read."""
        rows = self._rows
        return ["rows", len(rows)] if isinstance(rows, list | tuple) else None


def file_format_of(path: Any, file_format: str | None) -> str:
    """``csv`` or ``jsonl``: the given format, else the one the file name's suffix says."""
    if file_format:
        if file_format not in ("csv", "jsonl"):
            raise SeedSourceError(f"Setting 'file_format' is {file_format!r}; expected csv or jsonl.")
        return file_format
    name = str(path).lower()
    for suffix, kind in FILE_FORMATS.items():
        if name.endswith(suffix):
            return kind
    raise SeedSourceError(f"Cannot tell the format of {path!s}: set file_format to csv or jsonl.")


class FileSource:
    """A CSV (with a header line) or JSON Lines file.

    Every problem of the file (undecodable bytes, a CSV field over the limit, a line that is not JSON,
    JSON nested too deeply) is a :class:`SeedSourceError` naming the file, the line and, where it can be
    known, the column.

    :param path: the file; a local path unless ``opener`` is given.
    :param file_format: ``csv`` or ``jsonl`` (default: from the suffix).
    :param csv_delimiter: the CSV delimiter.
    :param opener: returns a fresh binary stream of the file (e.g. an object store's); default: open
        the local path.
    :param encoding: the text encoding; the default ``utf-8-sig`` also reads the byte order mark that
        Excel writes at the start of a UTF-8 CSV.
    :param field_size_limit: the longest CSV field accepted, in characters (a seed request's size limit:
        a longer field cannot be sent anyway).
    """

    def __init__(
        self,
        path: Any,
        file_format: str | None = None,
        csv_delimiter: str = ",",
        opener: Callable[[], IO[bytes]] | None = None,
        encoding: str = "utf-8-sig",
        field_size_limit: int = 256_000,
    ) -> None:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise SeedSourceError(
                f"Setting 'encoding' is {encoding!r}, which is not a known encoding."
            ) from None
        self.path = path
        self.file_format = file_format_of(path, file_format)
        self.csv_delimiter = csv_delimiter
        self.encoding = encoding
        self.field_size_limit = field_size_limit
        self._opener = opener

    def _open(self) -> IO[bytes]:
        if self._opener is not None:
            return self._opener()
        return open(self.path, "rb")

    def _where(self, line: int, column: int | str | None = None) -> str:
        return f"{self.path!s}, line {line:,}" + (f", column {column}" if column is not None else "")

    def _lines(self, stream: IO[bytes], position: list[int]) -> Iterator[str]:
        """Decoded lines (with their ends); ``position[0]`` is the number of the line last yielded."""
        decoder = codecs.getincrementaldecoder(self.encoding)(errors="strict")
        pending = ""
        for raw in stream:
            try:
                pending += decoder.decode(raw)
            except UnicodeDecodeError as error:
                line = position[0] + pending.count("\n") + 1
                column = len(raw[: max(error.start, 0)].decode(self.encoding, errors="replace")) + 1
                bad = raw[error.start : error.end].hex(" ")
                raise SeedSourceError(
                    f"{self._where(line, column)}: not {self.encoding} text (bytes {bad}). Set 'encoding' to "
                    "the file's encoding (e.g. latin-1, cp1252)."
                ) from None
            while "\n" in pending:
                line_text, _, pending = pending.partition("\n")
                position[0] += 1
                yield line_text + "\n"
        pending += decoder.decode(b"", final=True)
        if pending:
            position[0] += 1
            yield pending

    def rows(self) -> Iterator[Mapping[str, Any]]:
        position = [0]
        with self._open() as stream:
            lines = self._lines(stream, position)
            if self.file_format == "csv":
                yield from self._csv_rows(lines, position)
            else:
                yield from self._jsonl_rows(lines, position)

    def _csv_rows(self, lines: Iterator[str], position: list[int]) -> Iterator[Mapping[str, Any]]:
        # The limit is process-wide in the csv module: raise it only, never lower what others set.
        if csv.field_size_limit() < self.field_size_limit:
            csv.field_size_limit(self.field_size_limit)
        record: list[str] = []

        def remembered() -> Iterator[str]:
            for line in lines:
                record.append(line)
                yield line

        reader = csv.reader(remembered(), delimiter=self.csv_delimiter)
        header: list[str] | None = None
        while True:
            start = position[0] + 1
            record.clear()
            try:
                values = next(reader)
            except StopIteration:
                return
            except csv.Error as error:
                raise SeedSourceError(self._csv_problem(error, start, header, record)) from None
            if header is None:
                header = values
                continue
            if not values:
                continue
            yield dict(zip(header, values, strict=False))

    def _csv_problem(self, error: csv.Error, line: int, header: list[str] | None, record: list[str]) -> str:
        if "field larger than field limit" not in str(error):
            return f"{self._where(line)}: not valid CSV ({error})."
        # Parse the record again without a limit to name the column holding the long field.
        column: str | None = None
        previous = csv.field_size_limit(sys.maxsize)
        try:
            values = next(csv.reader(iter(record), delimiter=self.csv_delimiter), [])
        except csv.Error:
            values = []
        finally:
            csv.field_size_limit(previous)
        for index, value in enumerate(values):
            if len(value) > self.field_size_limit:
                column = repr(header[index]) if header and index < len(header) else f"#{index + 1}"
                break
        return (
            f"{self._where(line, column)}: a field is longer than {self.field_size_limit:,} characters, more "
            "than a seed request may carry (max_request_bytes)."
        )

    def _jsonl_rows(self, lines: Iterator[str], position: list[int]) -> Iterator[Mapping[str, Any]]:
        for line in lines:
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as error:
                raise SeedSourceError(
                    f"{self._where(position[0], error.colno)}: not valid JSON ({error.msg})."
                ) from None
            except RecursionError:
                raise SeedSourceError(
                    f"{self._where(position[0])}: JSON nested too deeply to be a row of columns."
                ) from None
            yield row

    def key(self) -> Any:
        """The path with the file's size and modification time: a replaced file is another source."""
        return ["path", str(self.path), *self.fingerprint()]

    def fingerprint(self) -> list[Any]:
        """Size and modification time of a local file (an opener's stream is fingerprinted by its caller)."""
        if self._opener is not None:
            return []
        try:
            stat = os.stat(self.path)
        except OSError:
            return []
        return [stat.st_size, stat.st_mtime_ns]
