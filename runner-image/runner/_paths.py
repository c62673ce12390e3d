"""Where a job's files are, under one root (/job in a container, a temp dir in tests)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from runner import spec


@dataclass(frozen=True)
class JobPaths:
    root: Path

    @property
    def spec_file(self) -> Path:
        return self.root / spec.INPUT_DIR / spec.SPEC_FILE

    @property
    def data_file(self) -> Path:
        return self.root / spec.INPUT_DIR / spec.DATA_FILE

    @property
    def upload_file(self) -> Path:
        """An ingest job's input: the uploaded bytes as received."""
        return self.root / spec.INPUT_DIR / spec.UPLOAD_FILE

    @property
    def output_data_file(self) -> Path:
        """The table an ingest job writes."""
        return self.output_dir / spec.DATA_FILE

    @property
    def model_dir(self) -> Path:
        """The saved model a prediction job reads (read-only)."""
        return self.root / spec.MODEL_DIR

    @property
    def output_dir(self) -> Path:
        return self.root / spec.OUTPUT_DIR

    @property
    def result_file(self) -> Path:
        return self.output_dir / spec.RESULT_FILE

    @property
    def output_model_dir(self) -> Path:
        return self.output_dir / spec.OUTPUT_MODEL_DIR

    @property
    def plots_dir(self) -> Path:
        return self.output_dir / spec.OUTPUT_PLOTS_DIR
