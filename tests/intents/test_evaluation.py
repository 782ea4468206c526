"""Pure metric computation behind `carebot intents eval`."""

from __future__ import annotations

from pathlib import Path

import pytest

from intents import Match, compute_metrics, read_labelled_csv
from intents.evaluation import percentile, predicted_label


def test_accuracy_macro_f1_and_none_recall() -> None:
    gold = ["complaint", "complaint", "inquiry", "none", "none", "feedback"]
    pred = ["complaint", "inquiry", "inquiry", "none", "complaint", "feedback"]
    report = compute_metrics(gold, pred, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    assert report.accuracy == pytest.approx(4 / 6, abs=1e-4)
    assert report.none_recall == 0.5
    assert report.per_class["complaint"]["precision"] == 0.5
    assert report.per_class["complaint"]["recall"] == 0.5
    assert report.per_class["inquiry"]["precision"] == 0.5
    assert report.per_class["feedback"]["f1"] == 1.0
    f1s = [report.per_class[label]["f1"] for label in report.labels]
    assert report.macro_f1 == pytest.approx(sum(f1s) / len(f1s), abs=1e-3)
    assert report.confusion["none"] == {"complaint": 1, "none": 1}
    assert report.latency_ms == {"p50": 3.0, "p99": 6.0}
    assert set(report.as_dict()) >= {
        "accuracy",
        "macro_f1",
        "none_recall",
        "per_class",
        "confusion",
        "latency_ms",
    }


def test_no_none_rows_gives_null_recall() -> None:
    assert compute_metrics(["inquiry"], ["inquiry"]).none_recall is None


def test_length_mismatch_is_an_error() -> None:
    with pytest.raises(ValueError):
        compute_metrics(["a"], [])


def test_percentile_nearest_rank() -> None:
    assert percentile([], 50) == 0.0
    assert percentile([5.0, 1.0, 3.0], 50) == 3.0
    assert percentile(list(map(float, range(1, 101))), 99) == 99.0


def test_predicted_label_levels() -> None:
    faq = Match("faq.hours", "faq", "inquiry", 80.0, None, 0.0, "faq.hours")
    greet = Match("greeting", "greeting", None, 80.0, None, 0.0, "menu.prompt")
    none = Match(None, None, None, 10.0, "faq.hours", 10.0, None)
    assert predicted_label(faq, "inquiry") == "inquiry"
    assert predicted_label(faq, "faq.hours") == "faq.hours"
    assert predicted_label(greet, "none") == "greeting"
    assert predicted_label(none, "complaint") == "none"


def test_read_labelled_csv(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text('\ufefftext,label\n"hi, there",none\n我要投诉,complaint\n', encoding="utf-8")
    assert read_labelled_csv(path) == [("hi, there", "none"), ("我要投诉", "complaint")]
    bad = tmp_path / "bad.csv"
    bad.write_text("message,intent\nx,y\n", encoding="utf-8")
    with pytest.raises(ValueError, match="text,label"):
        read_labelled_csv(bad)


def test_rows_with_unquoted_commas_are_reported_by_line(tmp_path: Path) -> None:
    data = tmp_path / "broken.csv"
    body = "text,label\n请问几点关门,inquiry\n等了好久,太慢了,complaint\n无标签,\n"
    data.write_text(body, encoding="utf-8")
    with pytest.raises(ValueError, match=r"2 malformed.*line 3.*line 4"):
        read_labelled_csv(data)
