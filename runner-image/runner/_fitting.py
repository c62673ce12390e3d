"""Turning what goes wrong while fitting into the job's error codes."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager

from runner._errors import JobError
from runner._progress import Reporter
from runner.spec import ErrorCode, ExitCode

NOT_CONVERGED = (
    "The model did not fully settle (converge) while training; "
    "more iterations (max_iter) or scaled columns may help."
)


@contextmanager
def fitting(reporter: Reporter, user_warnings: list[str]) -> Iterator[None]:
    """Fit inside: library warnings go to the log (a convergence one also to the user);
    a bad setting is the job's fault (exit 2), any other failure is a failed training (exit 3)."""
    from sklearn.exceptions import ConvergenceWarning

    # scikit-learn raises this for a bad setting but exports it from no public module.
    from sklearn.utils._param_validation import InvalidParameterError

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield
        except JobError:
            raise
        except InvalidParameterError as exc:
            raise JobError(ErrorCode.BAD_SPEC, f"A model setting is not valid: {_first_line(exc)}") from exc
        except MemoryError as exc:
            raise JobError(
                ErrorCode.TRAINING_FAILED,
                "Training ran out of memory; try fewer rows or columns, or a simpler model.",
                exit_code=ExitCode.TRAINING_FAILED,
            ) from exc
        except Exception as exc:
            raise JobError(
                ErrorCode.TRAINING_FAILED,
                f"The model could not be trained on this data: {_first_line(exc)}",
                exit_code=ExitCode.TRAINING_FAILED,
                details={"exception": type(exc).__name__},
            ) from exc
        finally:
            for item in caught:
                reporter.log(f"{item.category.__name__}: {item.message}")
            converged = not any(issubclass(item.category, ConvergenceWarning) for item in caught)
            if not converged and NOT_CONVERGED not in user_warnings:
                user_warnings.append(NOT_CONVERGED)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    line = text[0] if text else type(exc).__name__
    return line[:300].rstrip(".") + "."
