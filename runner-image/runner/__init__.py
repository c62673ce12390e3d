"""StatAgent's job runner: a fixed entrypoint (`python -m runner`) that reads a JSON job spec.

Importing this package imports nothing heavy; `runner.spec` is shared with the host.

Public modules (everything with a leading underscore is private):
- `runner.spec`: the job contract (specs, progress events, result, error and exit codes).
- `runner.cli`: `main(argv)`, the entrypoint of `python -m runner {train,predict,selftest}`.
- `runner.pipeline`: `prepare_training` and `build_pipeline`, so tests can fit in-process
  exactly what the runner fits.
- `runner.transformers`: preprocessing steps stored inside saved models (stable import path).
"""
