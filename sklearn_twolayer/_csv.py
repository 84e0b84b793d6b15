"""A CSV file as training data for the main job, checked cell by cell: class
labels for a classifier, or numbers for a regressor.

Every problem is reported as a :class:`CSVError` whose message is one line
naming the file and the row (line of the file, the header being row 1) or
the column at fault, so that the command line can print it instead of a
traceback.
"""

import csv
import math

import numpy as np

# Delimiters a spreadsheet export may use; Excel writes ";" where the decimal
# separator is a comma.
_DELIMITERS = ",;\t|"

# Enough of the file for the sniffer to see the header and a few rows.
_SNIFF_CHARS = 64 * 1024


class CSVError(ValueError):
    """A file that cannot be used as training data, with a one-line reason."""


def _read_text(path):
    """The file's text; an Excel UTF-8 byte-order mark is dropped."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            return handle.read()
    except OSError as exc:
        raise CSVError(f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise CSVError(
            f"{path}: byte {exc.start} is not UTF-8 text; save the file as UTF-8 CSV"
        ) from None


def _delimiter(text):
    """The delimiter of ``text``: sniffed among the usual ones, "," if the
    sniffer cannot tell (for instance, a file with a single column)."""
    try:
        return csv.Sniffer().sniff(text[:_SNIFF_CHARS], _DELIMITERS).delimiter
    except csv.Error:
        return ","


def _rows(path, text):
    """(line number, fields) of each non-blank row, header included."""
    reader = csv.reader(text.splitlines(keepends=True), delimiter=_delimiter(text))
    rows = []
    try:
        for fields in reader:
            if any(field.strip() for field in fields):
                rows.append((reader.line_num, [field.strip() for field in fields]))
    except csv.Error as exc:
        raise CSVError(f"{path}, row {reader.line_num}: {exc}") from None
    return rows


def _target_column(path, header, target):
    positions = [i for i, name in enumerate(header) if name == target]
    if not positions:
        raise CSVError(f"{path}: no column {target!r} (columns: {', '.join(header)})")
    if len(positions) > 1:
        columns = " and ".join(str(i + 1) for i in positions)
        raise CSVError(f"{path}: column {target!r} appears twice (columns {columns})")
    if len(header) == 1:
        raise CSVError(f"{path}: no feature columns besides {target!r}")
    return positions[0]


def _number(path, line, name, cell):
    """A feature cell as a finite float."""
    if not cell:
        raise CSVError(f"{path}, row {line}, column {name!r}: empty cell")
    try:
        value = float(cell)
    except ValueError:
        raise CSVError(
            f"{path}, row {line}, column {name!r}: {cell!r} is not a number"
        ) from None
    if not math.isfinite(value):
        raise CSVError(
            f"{path}, row {line}, column {name!r}: {cell!r} is not a finite number"
        )
    return value


def _label(path, line, name, cell):
    if not cell or cell.lower() == "nan":
        what = "empty cell" if not cell else f"{cell!r} is not a class label"
        raise CSVError(f"{path}, row {line}, column {name!r}: {what}")
    return cell


def _check_classes(path, target, y, lines, test_size):
    """Enough rows of every class for a stratified train/test split."""
    classes, first, counts = np.unique(y, return_index=True, return_counts=True)
    if classes.shape[0] < 2:
        raise CSVError(
            f"{path}, column {target!r}: every row has the class "
            f"{str(classes[0])!r}; a classifier needs at least two"
        )
    if counts.min() < 2:
        single = int(np.argmin(counts))
        raise CSVError(
            f"{path}, column {target!r}: class {str(classes[single])!r} has a single "
            f"row (row {lines[first[single]]}); the stratified train/test split "
            "needs at least two of each class"
        )
    n_rows, n_classes = y.shape[0], classes.shape[0]
    n_test = math.ceil(test_size * n_rows)
    if n_test < n_classes or n_rows - n_test < n_classes:
        raise CSVError(
            f"{path}: {n_rows} rows are too few for a stratified split holding "
            f"out {test_size:.0%} of them with {n_classes} classes in each part"
        )


#: A numeric target column with more distinct values than this is taken
#: for a regression target (as is one with a value that is not a whole
#: number); with fewer, its values are classes.
MAX_CLASSES = 20


def detected_task(y):
    """``"regression"`` when every label of ``y`` (strings) is a finite
    number and they are not a handful of whole numbers, else
    ``"classification"``; with the reason, for the user."""
    try:
        values = np.array([float(label) for label in y])
    except ValueError:
        return "classification", "its values are not all numbers"
    if not np.isfinite(values).all():
        return "classification", "its values are not all finite numbers"
    n_distinct = np.unique(values).shape[0]
    if (values != np.round(values)).any():
        return "regression", f"it holds {n_distinct} distinct numbers, not all whole"
    if n_distinct > MAX_CLASSES:
        return "regression", f"it holds {n_distinct} distinct whole numbers"
    return "classification", f"it holds {n_distinct} distinct whole numbers"


def _check_values(path, target, y, lines):
    """The target column as finite numbers, for a regressor."""
    values = np.empty(len(y))
    for i, (line, label) in enumerate(zip(lines, y)):
        values[i] = _number(path, line, target, label)
    if np.unique(values).shape[0] < 2:
        raise CSVError(
            f"{path}, column {target!r}: every row has the value {y[0]}; a "
            "regressor needs targets that vary"
        )
    return values


def load_csv(path, target, *, test_size=0.25, task="auto"):
    """Numeric features and the target of a CSV file with a header row.

    Parameters
    ----------
    path : str or path-like
        A delimited text file (",", ";", tab or "|", sniffed), UTF-8 with or
        without a byte-order mark, whose first row names the columns.
    target : str
        Name of the target column; every other column is a feature and must
        hold finite numbers.
    test_size : float, default=0.25
        Share of the rows the caller holds out, stratified for
        classification: every class needs enough rows for both parts.
    task : {"auto", "classification", "regression"}, default="auto"
        What the target is: class labels, or numbers to regress on;
        ``"auto"`` detects it (see :func:`detected_task`).

    Returns
    -------
    X : ndarray of shape (n_rows, n_columns - 1), float64
    y : ndarray of shape (n_rows,), str (classification) or float64
        (regression)
    task : str
        ``"classification"`` or ``"regression"``.
    reason : str or None
        Why ``task="auto"`` chose it; None when it was given.

    Raises
    ------
    CSVError
        With a one-line message naming the file and the row or column at
        fault.
    """
    rows = _rows(path, _read_text(path))
    if not rows:
        raise CSVError(f"{path}: the file is empty")
    (_, header), body = rows[0], rows[1:]
    column = _target_column(path, header, target)
    if not body:
        raise CSVError(f"{path}: no data rows below the header")
    features = [name for i, name in enumerate(header) if i != column]
    X = np.empty((len(body), len(features)))
    y = []
    for i, (line, fields) in enumerate(body):
        if len(fields) != len(header):
            raise CSVError(
                f"{path}, row {line}: {len(fields)} fields where the header "
                f"has {len(header)}"
            )
        y.append(_label(path, line, target, fields[column]))
        cells = fields[:column] + fields[column + 1 :]
        for j, (name, cell) in enumerate(zip(features, cells)):
            X[i, j] = _number(path, line, name, cell)
    lines = [line for line, _ in body]
    reason = None
    if task == "auto":
        task, reason = detected_task(y)
    if task == "regression":
        return X, _check_values(path, target, y, lines), task, reason
    y = np.asarray(y)
    _check_classes(path, target, y, lines, test_size)
    return X, y, task, reason
