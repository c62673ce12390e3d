"""compose.yaml: docker-compose (v1, from Debian; `make setup` installs it) accepts it, and it
says what the service needs: the Docker socket, the data dir at the same path, config, secrets."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml


def compose_config(repo_root: Path, **env: str) -> dict[str, Any]:
    if shutil.which("docker-compose") is None:
        pytest.fail("docker-compose is not installed (apt-get install -y docker-compose; `make setup` does it)")
    result = subprocess.run(
        ["docker-compose", "--file", str(repo_root / "compose.yaml"), "config"],
        cwd=repo_root,
        env={"PATH": os.environ["PATH"], **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


def test_docker_compose_accepts_the_service(repo_root: Path) -> None:
    config = compose_config(repo_root, TELEGRAM_BOT_TOKEN="123:abc", STATAGENT_DATA_DIR="/srv/statagent")
    service = config["services"]["statagent"]

    assert service["build"]["dockerfile"] == "Dockerfile.service"
    assert (repo_root / "Dockerfile.service").is_file()
    assert service["command"] == ["bot"]
    assert service["restart"] == "unless-stopped"
    assert service["healthcheck"]["test"][0] == "CMD"

    env = service["environment"]
    assert env["TELEGRAM_BOT_TOKEN"] == "123:abc"
    assert env["STATAGENT_DATA_DIR"] == "/srv/statagent"
    assert env["STATAGENT_CONFIG"] == "/etc/statagent/config.yaml"

    volumes = {v.split(":")[1]: v for v in service["volumes"]}
    assert volumes["/var/run/docker.sock"].startswith("/var/run/docker.sock:")
    # Job folders are bind-mounted by the host's engine: same path inside and outside.
    assert volumes["/srv/statagent"] == "/srv/statagent:/srv/statagent:rshared"
    # The controller mounts each job's size-capped output tmpfs under the data dir; the host must see it.
    assert service["cap_add"] == ["SYS_ADMIN"]
    assert volumes["/etc/statagent/config.yaml"] == f"{repo_root / 'config' / 'config.yaml'}:/etc/statagent/config.yaml:ro"


def test_secrets_are_only_passed_through(repo_root: Path) -> None:
    service = compose_config(repo_root)["services"]["statagent"]
    assert service["environment"]["TELEGRAM_BOT_TOKEN"] is None
    assert service["environment"]["ANTHROPIC_API_KEY"] is None
