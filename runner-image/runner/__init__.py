"""StatAgent's job runner: a fixed entrypoint (`python -m runner`) that reads a JSON job spec.

Importing this package imports nothing heavy; `runner.spec` is shared with the host.
"""
