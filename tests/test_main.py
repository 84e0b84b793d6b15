"""The main job: ``python -m sklearn_twolayer``."""

import subprocess
import sys

import numpy as np
import pytest

from sklearn_twolayer.__main__ import main


def test_module_runs_on_digits_and_reports_accuracy_and_times():
    # -P keeps the working directory (possibly the source tree, which has no
    # compiled extension) off sys.path, as the README's command does.
    result = subprocess.run(
        [sys.executable, "-P", "-m", "sklearn_twolayer", "--max-iter", "3"],
        capture_output=True,
        text=True,
        check=True,
    )
    out = result.stdout
    assert "digits: 1347 training and 450 test samples" in out
    epochs = [line for line in out.splitlines() if line.startswith("Iteration")]
    assert [line.split(",")[0] for line in epochs] == [
        "Iteration 1",
        "Iteration 2",
        "Iteration 3",
    ]
    assert "TwoLayerClassifier: test accuracy" in out
    assert "MLPClassifier:      test accuracy" in out
    assert "fit time ratio" in out


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
    assert main(["--csv", str(path), "--target", "label", "--max-iter", "50"]) == 0
    out = capsys.readouterr().out
    assert "90 training and 30 test samples, 3 features, 2 classes" in out
    accuracy = float(out.split("TwoLayerClassifier: test accuracy ")[1].split(",")[0])
    assert accuracy > 0.8


def test_missing_csv_file_gives_a_one_line_error(tmp_path, capsys):
    code = main(["--csv", str(tmp_path / "absent.csv"), "--target", "label"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1
    assert err.startswith("error: cannot read") and "absent.csv" in err


def test_missing_target_column_gives_a_one_line_error(tmp_path, capsys):
    path = tmp_path / "data.csv"
    write_csv(path)
    code = main(["--csv", str(path), "--target", "species"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1
    assert "column 'species' is not in" in err and "a, b, label, c" in err


def test_csv_without_target_is_a_usage_error():
    with pytest.raises(SystemExit) as exc:
        main(["--csv", "data.csv"])
    assert exc.value.code == 2
