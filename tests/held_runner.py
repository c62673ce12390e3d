"""A job container that runs the real runner with its plotting held or killed: a training's
metrics must reach the user before its plots, and a job that dies drawing keeps its model."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import docker

from controller import ContainerRequest, DockerBackend
from controller._backend import StartedContainer

# The real runner, whose plots wait until the host writes input/GO_FILE (as a pool handover does).
GO_FILE = "draw-now"
HOLD_PLOTS = f"""
import os, sys, time
from runner import _train
from runner.cli import main
draw = _train._draw_plots
def held(*args, **kwargs):
    while not os.path.exists('/job/input/{GO_FILE}'):
        time.sleep(0.02)
    return draw(*args, **kwargs)
_train._draw_plots = held
sys.exit(main(sys.argv[1:]))
"""
# The real runner, killed (as by the kernel's OOM killer) as it starts drawing the plots.
DIE_PLOTTING = """
import os, signal, sys
from runner import _train
from runner.cli import main
_train._draw_plots = lambda *args, **kwargs: os.kill(os.getpid(), signal.SIGKILL)
sys.exit(main(sys.argv[1:]))
"""


class Hooked(DockerBackend):
    """The real backend, running `python -c SCRIPT ARGS... COMMAND` in the job's very container (a pool's too)."""

    def __init__(self, script: str, *args: str) -> None:
        super().__init__()
        self._entrypoint = ("python", "-c", script, *args)

    async def start(self, request: ContainerRequest) -> StartedContainer:
        return await super().start(dataclasses.replace(request, entrypoint=self._entrypoint))


def job_input(client: docker.DockerClient, container_id: str) -> Path:
    """Where the host side of a job container's input folder is (a cold job's or a pool slot's)."""
    mounts = client.containers.get(container_id).attrs["Mounts"]
    return next(Path(m["Source"]) for m in mounts if m["Destination"] == "/job/input")


def let_plots_draw(input_dir: Path) -> None:
    """Write the word HOLD_PLOTS waits for into the job's input folder."""
    go = input_dir / GO_FILE
    go.write_text("", encoding="utf-8")
    os.chmod(go, 0o644)
