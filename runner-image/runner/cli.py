"""`python -m runner {train,predict,ingest,explore,selftest,pool}`: the fixed entrypoint of every job container."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from runner import spec as contract
from runner._errors import JobError
from runner._paths import JobPaths
from runner._pool import POOL_COMMAND, wait_for_job
from runner._progress import Reporter
from runner.spec import (
    AnySpec,
    ErrorCode,
    ErrorInfo,
    ExitCode,
    ExploreSpec,
    IngestSpec,
    JobKind,
    Result,
    TrainOutcome,
    TrainSpec,
)

# Exit code of an unexpected failure: not one of ExitCode's, so the host sees a crash,
# and result.json still says `internal`.
CRASH_EXIT = 1
SELFTEST = "selftest"
COMMANDS = (*(kind.value for kind in JobKind), SELFTEST)
# Where a training job's progress stands once its model is saved (the plots come after).
SAVED_PERCENT = 88.0


@dataclass(frozen=True)
class JobRun:
    result: Result
    exit_code: int
    model: Any = None  # the fitted model of a training job, in memory


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the process exit code."""
    parser = argparse.ArgumentParser(prog="python -m runner", description=__doc__)
    parser.add_argument("command", choices=(*COMMANDS, POOL_COMMAND))
    parser.add_argument(
        "--job-root", default=str(contract.JOB_ROOT), help="folder holding input/, model/ and output/"
    )
    parser.add_argument(
        "--deadline",
        type=float,
        metavar="SECONDS",
        help="run the command in a child process and end everything after SECONDS (as PID 1 of a job container)",
    )
    args = parser.parse_args(argv)
    if args.command == POOL_COMMAND:  # a warm container: its job, and its deadline, come later
        handover = wait_for_job(Path(args.job_root))
        args.command = handover.command
        args.deadline = min(handover.deadline_seconds, args.deadline or handover.deadline_seconds)
    if args.deadline is not None:
        from runner._init import supervise

        return supervise(lambda: _command(args), deadline_seconds=args.deadline)
    return _command(args)


def _command(args: argparse.Namespace) -> int:
    if args.command == SELFTEST:
        from runner._selftest import selftest

        return selftest(out=sys.stdout)
    reporter = Reporter(events=sys.stdout)
    # stdout carries progress events only: anything a library prints goes to stderr.
    with contextlib.redirect_stdout(sys.stderr):
        return run_job(args.command, JobPaths(Path(args.job_root)), reporter).exit_code


def run_job(command: str, paths: JobPaths, reporter: Reporter) -> JobRun:
    """Run a train, predict, ingest or explore job under `paths`; result.json is written whatever happens."""
    job: AnySpec | None = None
    fields: dict[str, Any] = {}
    model = None
    exit_code: int = ExitCode.OK
    try:
        job = _read_spec(paths, command)
        if isinstance(job, TrainSpec):
            from runner._train import train

            run = train(job, paths, reporter, on_saved=_saved_reporter(job, paths, reporter))
            fields["train"], model = run.outcome, run.model
        elif isinstance(job, IngestSpec):
            from runner._ingest import ingest

            fields["ingest"] = ingest(job, paths, reporter)
        elif isinstance(job, ExploreSpec):
            from runner._explore import explore

            fields["explore"] = explore(job, paths, reporter)
        else:
            from runner._predict import predict

            fields["predict"] = predict(job, paths, reporter)
    except JobError as exc:
        reporter.log(f"job refused ({exc.code.value}): {exc.message}")
        fields, exit_code = {"error": exc.info()}, exc.exit_code
    except Exception:
        reporter.log(f"unexpected failure:\n{traceback.format_exc()}")
        fields, exit_code = {"error": _internal()}, CRASH_EXIT
    result = Result(
        ok=exit_code == ExitCode.OK,
        command=command,  # type: ignore[arg-type]
        job_id=job.job_id if job else None,
        model_id=getattr(job, "model_id", None),
        timings=reporter.finish(),
        **fields,
    )
    try:
        write_result(paths, result)
    except OSError:
        reporter.log(f"could not write {paths.result_file}:\n{traceback.format_exc()}")
        exit_code = CRASH_EXIT
    return JobRun(result=result, exit_code=int(exit_code), model=model)


def _saved_reporter(job: TrainSpec, paths: JobPaths, reporter: Reporter) -> Callable[[TrainOutcome], None]:
    """What a training job does once its model is saved: result.json for it, then the saved event."""

    def saved(outcome: TrainOutcome) -> None:
        timings = dict(reporter.timings)
        early = Result(ok=True, command="train", job_id=job.job_id, model_id=job.model_id, timings=timings, train=outcome)
        write_result(paths, early)
        reporter.saved(SAVED_PERCENT, "Model saved; drawing the plots")

    return saved


def write_result(paths: JobPaths, result: Result) -> None:
    """Write result.json whole: aside, then renamed, as the host may read it while the job goes on."""
    paths.output_dir.mkdir(parents=True, exist_ok=True)
    pending = paths.output_dir / f".{paths.result_file.name}"
    pending.write_text(result.model_dump_json(indent=2), encoding="utf-8")
    os.replace(pending, paths.result_file)


def _internal() -> ErrorInfo:
    return ErrorInfo(
        code=ErrorCode.INTERNAL,
        message="Something went wrong inside the runner; the job's log has the details.",
    )


def _read_spec(paths: JobPaths, command: str) -> AnySpec:
    if not paths.spec_file.is_file():
        raise JobError(ErrorCode.BAD_SPEC, "The job file (job.json) is missing.")
    try:
        job = contract.parse_spec(paths.spec_file.read_bytes())
    except ValidationError as exc:
        first = exc.errors()[0]
        # loc is ("spec", <command tag>, field, ...): name only the field.
        where = ".".join(str(part) for part in first["loc"][1:] if part not in COMMANDS) or "the job"
        raise JobError(
            ErrorCode.BAD_SPEC,
            f"The job file is not valid: {where}: {first['msg']}.",
            details={
                "errors": [{"loc": [str(p) for p in e["loc"]], "msg": e["msg"]} for e in exc.errors()[:20]]
            },
        ) from exc
    if job.spec_version != contract.SPEC_VERSION:
        raise JobError(
            ErrorCode.BAD_SPEC,
            f"The job file has spec version {job.spec_version}; "
            f"this runner reads version {contract.SPEC_VERSION}.",
        )
    if job.command != command:
        raise JobError(
            ErrorCode.BAD_SPEC, f"The job file is a {job.command} job, but the runner was asked to {command}."
        )
    return job
