"""The main job: ``python -m sklearn_twolayer``."""

import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

from sklearn_twolayer.__main__ import main


def check_summary(out, max_iter):
    assert "digits: 1347 training and 450 test samples" in out
    epochs = [line.split()[1] for line in out.splitlines() if "loss" in line]
    # A line per tenth of the epochs, and the last one.
    step = -(-max_iter // 10)
    expected = list(range(step, max_iter + 1, step))
    if expected[-1] != max_iter:
        expected.append(max_iter)
    assert epochs == [f"{epoch}/{max_iter}" for epoch in expected]
    for name in ("TwoLayerClassifier", "MLPClassifier"):
        (row,) = [
            line
            for line in out.splitlines()
            if line.split()[:1] == [name] and len(line.split()) == 5
        ]
        accuracy, seconds, unit, n_epochs = row.split()[1:]
        assert 0 <= float(accuracy) <= 1 and float(seconds) > 0 and unit == "s"
        assert int(n_epochs) == max_iter
    (line,) = [line for line in out.splitlines() if "x the fit time of" in line]
    check_ratio_line(line, "MLPClassifier", "TwoLayerClassifier", 3)


def check_ratio_line(line, theirs, ours, repeats):
    """The ratio of the median fit times, with the range of the ratios of
    the pairs of fits (their spread)."""
    match = re.fullmatch(
        rf"{theirs} takes (\S+)x the fit time of {ours} \(median of "
        rf"{repeats} fits each; fit by fit from (\S+)x to (\S+)x\)",
        line,
    )
    assert match, line
    ratio, low, high = (float(value) for value in match.groups())
    assert 0 < low <= high and ratio > 0


def test_module_runs_on_digits_and_reports_accuracy_and_times():
    # -P keeps the working directory (possibly the source tree, which has no
    # compiled extension) off sys.path.
    result = subprocess.run(
        [sys.executable, "-P", "-m", "sklearn_twolayer", "--max-iter", "23"],
        capture_output=True,
        text=True,
        check=True,
    )
    check_summary(result.stdout, 23)


def console_script():
    path = shutil.which("sklearn-twolayer", path=os.path.dirname(sys.executable))
    assert path is not None, "the sklearn-twolayer command is not installed"
    return path


def test_console_script_runs_the_main_job_from_any_folder(tmp_path):
    result = subprocess.run(
        [console_script(), "--max-iter", "4", "--repeats", "1"],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    )
    assert "(one fit each)" in result.stdout
    assert "epoch 4/4" in result.stdout


def test_help_documents_every_option_with_its_default():
    result = subprocess.run(
        [console_script(), "--help"], capture_output=True, text=True, check=True
    )
    text = " ".join(result.stdout.split())
    assert text.startswith("usage: sklearn-twolayer")
    for option, default in [
        ("--n-hidden N", "(default: 100)"),
        ("--max-iter N", "(default: 200)"),
        ("--repeats N", "(default: 3)"),
        ("--random-state SEED", "(default: 0)"),
        ("--csv PATH", "(default: the digits data set)"),
        ("--target COLUMN", "(required with --csv)"),
        ("--task {auto,classification,regression}", "(default: auto)"),
    ]:
        start = text.index(option, text.index("options:"))
        # Up to the next option and its metavar.
        following = re.split(r" --[a-z-]+ [A-Z{]", text[start + len(option) :])[0]
        assert default in following, (option, following)


def write_csv(path, n_rows=120):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(n_rows, 3))
    labels = np.where(X[:, 0] + X[:, 1] > 0, "up", "down")
    with open(path, "w") as handle:
        handle.write("a,b,label,c\n")
        for row, label in zip(X, labels):
            handle.write(f"{row[0]},{row[1]},{label},{row[2]}\n")


def test_csv_file_is_trained_on(tmp_path, capsys):
    path = tmp_path / "data.csv"
    write_csv(path)
    argv = ["--csv", str(path), "--target", "label", "--max-iter", "50"]
    assert main([*argv, "--repeats", "1"]) == 0
    out = capsys.readouterr().out
    assert "90 training and 30 test samples, 3 features, 2 classes" in out
    (row,) = [
        line for line in out.splitlines() if line.startswith("TwoLayerClassifier ")
    ]
    accuracy = float(row.split()[1])
    assert accuracy > 0.8


def test_missing_csv_file_gives_a_one_line_error(tmp_path, capsys):
    code = main(["--csv", str(tmp_path / "absent.csv"), "--target", "label"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1
    assert err.startswith("error: cannot read") and "absent.csv" in err


def test_csv_without_target_is_a_usage_error():
    with pytest.raises(SystemExit) as exc:
        main(["--csv", "data.csv"])
    assert exc.value.code == 2


# Bad files: one line on stderr naming the file and the row or column at
# fault, a non-zero exit status, no traceback. Rows are numbered as lines of
# the file, the header being row 1.


def run_on(tmp_path, capsys, text, *, target="label", encoding="utf-8"):
    path = tmp_path / "data.csv"
    path.write_bytes(text.encode(encoding))
    argv = ["--csv", str(path), "--target", target, "--max-iter", "5"]
    code = main([*argv, "--repeats", "1"])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_one_line_error(code, err, *fragments):
    assert code != 0
    assert err.count("\n") == 1 and err.startswith("error: "), err
    assert "Traceback" not in err
    assert "data.csv" in err
    for fragment in fragments:
        assert fragment in err, (fragment, err)


def csv_text(n_rows=40, delimiter=",", labels=("up", "down")):
    """A well-formed file: features a, b; labels alternating."""
    rows = [delimiter.join(["a", "b", "label"])]
    for i in range(n_rows):
        rows.append(delimiter.join([f"{i / 7:.3f}", f"{-i / 3:.3f}", labels[i % 2]]))
    return "\n".join(rows) + "\n"


def test_ragged_row_is_named(tmp_path, capsys):
    lines = csv_text().splitlines()
    lines[4] += ",0.5"  # row 5 of the file has a fourth field
    code, _, err = run_on(tmp_path, capsys, "\n".join(lines) + "\n")
    assert_one_line_error(code, err, "row 5", "4 fields", "header has 3")


def test_header_only_file(tmp_path, capsys):
    code, _, err = run_on(tmp_path, capsys, "a,b,label\n")
    assert_one_line_error(code, err, "no data rows")


def test_empty_file(tmp_path, capsys):
    code, _, err = run_on(tmp_path, capsys, "")
    assert_one_line_error(code, err, "empty")


@pytest.mark.parametrize("cell", ["", "nan", "NaN", "inf"])
def test_missing_or_non_finite_feature_cell_is_named(tmp_path, capsys, cell):
    lines = csv_text().splitlines()
    fields = lines[6].split(",")
    fields[1] = cell  # row 7, column b
    lines[6] = ",".join(fields)
    code, _, err = run_on(tmp_path, capsys, "\n".join(lines) + "\n")
    assert_one_line_error(code, err, "row 7", "column 'b'")


@pytest.mark.parametrize("cell", ["", "nan"])
def test_missing_label_is_named(tmp_path, capsys, cell):
    lines = csv_text().splitlines()
    lines[3] = lines[3].rsplit(",", 1)[0] + "," + cell
    code, _, err = run_on(tmp_path, capsys, "\n".join(lines) + "\n")
    assert_one_line_error(code, err, "row 4", "column 'label'")


def test_non_numeric_feature_is_named(tmp_path, capsys):
    lines = csv_text().splitlines()
    lines[2] = "abc," + lines[2].split(",", 1)[1]
    code, _, err = run_on(tmp_path, capsys, "\n".join(lines) + "\n")
    assert_one_line_error(code, err, "row 3", "column 'a'", "'abc' is not a number")


def test_single_class(tmp_path, capsys):
    code, _, err = run_on(tmp_path, capsys, csv_text(labels=("up", "up")))
    assert_one_line_error(code, err, "column 'label'", "'up'", "at least two")


def test_class_with_a_single_row_is_named(tmp_path, capsys):
    lines = csv_text().splitlines()
    lines[9] = lines[9].rsplit(",", 1)[0] + ",sideways"
    code, _, err = run_on(tmp_path, capsys, "\n".join(lines) + "\n")
    assert_one_line_error(code, err, "column 'label'", "'sideways'", "row 10")


def test_too_few_rows_for_the_stratified_split(tmp_path, capsys):
    code, _, err = run_on(tmp_path, capsys, csv_text(n_rows=4))
    assert_one_line_error(code, err, "4 rows are too few")


def test_missing_target_column_is_named(tmp_path, capsys):
    code, _, err = run_on(tmp_path, capsys, csv_text(), target="species")
    assert_one_line_error(code, err, "'species'", "a, b, label")


def test_file_that_is_not_utf8(tmp_path, capsys):
    code, _, err = run_on(
        tmp_path, capsys, "a,b,label\n1,2,caf\xe9\n", encoding="latin-1"
    )
    assert_one_line_error(code, err, "UTF-8")


def trained_summary(code, out):
    assert code == 0
    assert "30 training and 10 test samples, 2 features, 2 classes" in out


def test_excel_byte_order_mark_is_handled(tmp_path, capsys):
    # The target is the first column, whose name the mark would precede.
    lines = [",".join(reversed(line.split(","))) for line in csv_text().splitlines()]
    code, out, err = run_on(tmp_path, capsys, "\ufeff" + "\n".join(lines) + "\n")
    assert err == ""
    trained_summary(code, out)


@pytest.mark.parametrize("delimiter", [";", "\t"])
def test_delimiter_is_sniffed(tmp_path, capsys, delimiter):
    code, out, err = run_on(tmp_path, capsys, csv_text(delimiter=delimiter))
    assert err == ""
    trained_summary(code, out)


def test_crlf_line_ends_and_blank_lines_are_handled(tmp_path, capsys):
    text = csv_text().replace("\n", "\r\n") + "\r\n\r\n"
    code, out, err = run_on(tmp_path, capsys, text)
    assert err == ""
    trained_summary(code, out)


@pytest.mark.parametrize(
    "option, value, allowed",
    [
        ("--max-iter", "0", ">= 1"),
        ("--n-hidden", "-5", ">= 1"),
        ("--n-hidden", "ten", ">= 1"),
        ("--random-state", "-1", "in [0, 4294967295]"),
    ],
)
def test_out_of_range_options_are_refused_by_the_parser(capsys, option, value, allowed):
    with pytest.raises(SystemExit) as exc:
        main([option, value])
    err = capsys.readouterr().err
    assert exc.value.code == 2
    assert f"argument {option}" in err and allowed in err
    assert "Traceback" not in err


# A numeric target: a regressor, compared with MLPRegressor.


def write_regression_csv(path, n_rows=120, whole=False):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(n_rows, 3))
    target = 3 * X[:, 0] - 2 * X[:, 1] + 0.1 * rng.normal(size=n_rows)
    if whole:
        target = np.round(10 * target)
    with open(path, "w") as handle:
        handle.write("a,b,price,c\n")
        for row, value in zip(X, target):
            handle.write(f"{row[0]},{row[1]},{value:g},{row[2]}\n")


def regression_rows(out):
    rows = {}
    for name in ("TwoLayerRegressor", "MLPRegressor"):
        (row,) = [
            line
            for line in out.splitlines()
            if line.split()[:1] == [name] and len(line.split()) == 5
        ]
        r2, seconds, unit, epochs = row.split()[1:]
        assert unit == "s" and float(seconds) > 0
        rows[name] = float(r2), int(epochs)
    return rows


def test_numeric_target_is_detected_said_and_regressed(tmp_path, capsys):
    path = tmp_path / "prices.csv"
    write_regression_csv(path)
    argv = ["--csv", str(path), "--target", "price", "--max-iter", "200"]
    assert main([*argv, "--repeats", "2"]) == 0
    out = capsys.readouterr().out
    assert "90 training and 30 test samples, 3 features, a numeric target" in out
    assert "column 'price' is taken for a regression target" in out
    assert "--task classification to choose otherwise" in out
    rows = regression_rows(out)
    # A linear target: both networks explain most of its variance.
    assert rows["TwoLayerRegressor"][0] > 0.8 and rows["MLPRegressor"][0] > 0.8
    (line,) = [line for line in out.splitlines() if "x the fit time of" in line]
    check_ratio_line(line, "MLPRegressor", "TwoLayerRegressor", 2)


def test_whole_numbers_are_regressed_when_asked(tmp_path, capsys):
    path = tmp_path / "counts.csv"
    write_regression_csv(path, whole=True)
    argv = ["--csv", str(path), "--target", "price", "--max-iter", "20"]
    assert main([*argv, "--task", "regression", "--repeats", "1"]) == 0
    out = capsys.readouterr().out
    assert "a numeric target" in out and "is taken for" not in out
    assert set(regression_rows(out)) == {"TwoLayerRegressor", "MLPRegressor"}
    assert "(one fit each)" in out


def test_numbers_as_classes_name_a_rare_class_as_written(tmp_path, capsys):
    path = tmp_path / "prices.csv"
    write_regression_csv(path)
    argv = ["--csv", str(path), "--target", "price", "--task", "classification"]
    code = main([*argv, "--repeats", "1"])
    err = capsys.readouterr().err
    assert code == 2 and "has a single row" in err
    assert "np." not in err


def test_regression_needs_a_csv_file(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--task", "regression"])
    assert exc.value.code == 2
    assert "--task regression needs --csv" in capsys.readouterr().err
