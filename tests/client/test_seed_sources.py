"""File sources: encodings, and errors that name the file, the line and the column."""

from __future__ import annotations

import json

import pytest

from airflow_provider_mparticle.client.seeding.sources import FileSource, ListSource, SeedSourceError


def test_csv_with_excel_byte_order_mark(tmp_path):
    path = tmp_path / "excel.csv"
    path.write_bytes("customer_id,ltv\r\nc1,1\r\nc2,2\r\n".encode("utf-8-sig"))
    assert list(FileSource(str(path)).rows()) == [{"customer_id": "c1", "ltv": "1"}, {"customer_id": "c2", "ltv": "2"}]  # fmt: skip


def test_csv_quoted_newlines_and_blank_lines(tmp_path):
    path = tmp_path / "notes.csv"
    path.write_text('customer_id,note\nc1,"two\nlines"\n\nc2,x\n', encoding="utf-8")
    assert [r["note"] for r in FileSource(str(path)).rows()] == ["two\nlines", "x"]


def test_undecodable_bytes_name_file_line_and_column(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes("customer_id,city\nc1,Paris\nc2,Zürich\n".encode("latin-1"))
    with pytest.raises(SeedSourceError) as info:
        list(FileSource(str(path)).rows())
    assert str(info.value).startswith(f"{path}, line 3, column 5: not utf-8-sig text (bytes fc).")
    assert "Set 'encoding'" in str(info.value)
    rows = list(FileSource(str(path), encoding="latin-1").rows())
    assert rows[1]["city"] == "Zürich"


def test_utf16_file_with_its_encoding(tmp_path):
    path = tmp_path / "wide.csv"
    path.write_bytes("customer_id,ltv\nc1,1\nc2,2\n".encode("utf-16"))
    assert [r["customer_id"] for r in FileSource(str(path), encoding="utf-16").rows()] == ["c1", "c2"]


def test_unknown_encoding_is_a_setting_error(tmp_path):
    with pytest.raises(SeedSourceError, match="'encoding' is 'utf-9'"):
        FileSource(str(tmp_path / "x.csv"), encoding="utf-9")


def test_csv_field_up_to_the_request_limit_is_read_and_a_longer_one_is_named(tmp_path):
    path = tmp_path / "long.csv"
    path.write_text(f"customer_id,note,ltv\nc1,{'x' * 200_000},1\nc2,{'y' * 300_000},2\n", encoding="utf-8")
    rows = FileSource(str(path), field_size_limit=256_000).rows()
    assert len(next(rows)["note"]) == 200_000  # over the csv module's default limit of 131,072
    with pytest.raises(SeedSourceError) as info:
        next(rows)
    assert str(info.value) == (
        f"{path}, line 3, column 'note': a field is longer than 256,000 characters, more than a seed "
        "request may carry (max_request_bytes)."
    )


def test_malformed_json_line_names_line_and_column(tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_text('{"customer_id": "c1"}\n\n{"customer_id": "c2", ltv: 3}\n', encoding="utf-8")
    rows = FileSource(str(path)).rows()
    assert next(rows) == {"customer_id": "c1"}
    with pytest.raises(SeedSourceError, match=r"rows.jsonl, line 3, column 23: not valid JSON \(Expecting property name"):  # fmt: skip
        next(rows)


def test_deeply_nested_json_is_an_error_not_a_recursion_error(tmp_path):
    path = tmp_path / "deep.jsonl"
    path.write_text(json.dumps({"customer_id": "c1"}) + "\n" + "[" * 200_000 + "]" * 200_000 + "\n")
    rows = FileSource(str(path)).rows()
    next(rows)
    with pytest.raises(SeedSourceError, match=r"deep\.jsonl, line 2: JSON nested too deeply"):
        next(rows)


def test_keys_tell_sources_apart(tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_text('{"customer_id": "c1"}\n')
    before = FileSource(str(path)).key()
    path.write_text('{"customer_id": "c1"}\n{"customer_id": "c2"}\n')
    assert FileSource(str(path)).key() != before
    assert ListSource([{"a": 1}]).key() == ["rows", 1]
    assert ListSource(iter([{"a": 1}])).key() is None
