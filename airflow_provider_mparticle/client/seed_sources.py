"""Where seed rows come from: a small :class:`RowSource` protocol and the sources that need no Airflow.

A source yields rows (mappings of column -> value) as a stream, from the start on every call of
:meth:`RowSource.rows`, and describes itself for resume keys. A new kind of source is one class:
:class:`ListSource` (a list of dicts), :class:`FileSource` (CSV or JSON Lines, local or through any
opener of binary streams). The operator adds the sources that need Airflow (object storage, SQL).
"""

from __future__ import annotations

import csv
import io
import json
from typing import TYPE_CHECKING, Any, Protocol

from airflow_provider_mparticle.client.errors import MParticleError

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
        rows = self._rows
        return ["rows", len(rows) if isinstance(rows, list | tuple) else None]


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

    :param path: the file; a local path unless ``opener`` is given.
    :param file_format: ``csv`` or ``jsonl`` (default: from the suffix).
    :param csv_delimiter: the CSV delimiter.
    :param opener: returns a fresh binary stream of the file (e.g. an object store's); default: open
        the local path.
    """

    def __init__(
        self,
        path: Any,
        file_format: str | None = None,
        csv_delimiter: str = ",",
        opener: Callable[[], IO[bytes]] | None = None,
    ) -> None:
        self.path = path
        self.file_format = file_format_of(path, file_format)
        self.csv_delimiter = csv_delimiter
        self._opener = opener

    def _open(self) -> IO[bytes]:
        if self._opener is not None:
            return self._opener()
        return open(self.path, "rb")

    def rows(self) -> Iterator[Mapping[str, Any]]:
        with io.TextIOWrapper(self._open(), encoding="utf-8", newline="") as handle:
            if self.file_format == "csv":
                yield from csv.DictReader(handle, delimiter=self.csv_delimiter)
                return
            for line_number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except ValueError as error:
                    raise SeedSourceError(
                        f"{self.path!s} line {line_number}: not valid JSON ({error})."
                    ) from None
                yield row

    def key(self) -> Any:
        return ["path", str(self.path)]
