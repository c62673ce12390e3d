"""`statagent chat`, `statagent demo` and the `statagent` dispatcher."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from chatkit import REPO_ROOT, SAMPLES
from job_settings import settings_for

from bot.cli import main
from bot import Photo
from bot.terminal import TerminalSink, run_chat
from config import DEFAULT_CONFIG_PATH

STATAGENT = Path(sys.executable).with_name("statagent")


def _config_file(folder: Path, runner_image: str) -> Path:
    """The default configuration with its own data directory and the checkout's runner image."""
    config = yaml.safe_load(DEFAULT_CONFIG_PATH.read_text())
    config["data_dir"] = str(folder / "data")
    config["runner"]["image"] = runner_image
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def _run(args: list[str], *, config: Path, stdin: str = "", timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("ANTHROPIC_API_KEY", "TELEGRAM_BOT_TOKEN")}
    return subprocess.run(
        [str(STATAGENT), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO_ROOT,
        # This checkout's code, also when the console script was installed from another one.
        env={
            **env,
            "STATAGENT_CONFIG": str(config),
            "PYTHONPATH": f"{REPO_ROOT}{os.pathsep}{REPO_ROOT / 'runner-image'}",
        },
        check=False,
    )


@pytest.mark.docker
@pytest.mark.asyncio(loop_scope="session")
async def test_chat_reads_lines_and_numbered_choices_answer_buttons(tmp_path, runner_image):
    settings = settings_for(tmp_path / "data", runner_image)
    script = "\n".join([
        "/data",
        "train a model",
        "1",  # the first button: the column 'price'
        "/cancel",
        f"/upload {tmp_path / 'missing.csv'}",
        "/models",
        "quit",
        "/help",  # never read: the chat ended
    ])
    out = io.StringIO()
    code = await run_chat(
        settings,
        user_id="term",
        data=SAMPLES / "houses.csv",
        out_dir=tmp_path / "out",
        stdin=io.StringIO(script + "\n"),
        stdout=out,
    )
    text = out.getvalue()
    assert code == 0
    # The upload is read by an ingest job: its status message, then the table's summary.
    assert "👤 (sends houses.csv)\n🤖 📥 Reading houses.csv" in text
    assert "🤖 📋 houses.csv: 120 rows" in text
    assert "👤 /data\n🤖 📋 houses.csv" in text
    assert "👤 train a model\n🤖 Which column should the model predict?\n     [1] price\n" in text
    assert "👤 1\n🤖 Which model should I train to predict 'price'?\n     [1] Linear Regression" in text
    assert "👤 /cancel\n🤖 OK, I dropped that request." in text
    assert "⚠️ Cannot read that file: No such file or directory" in text
    assert "👤 /models\n🤖 You have no models yet." in text
    assert "/help" not in text.split("👤 /models", 1)[1]


@pytest.mark.docker
def test_statagent_chat_console_script(tmp_path, runner_image):
    config = _config_file(tmp_path, runner_image)
    out = tmp_path / "out"
    chat = ["chat", "--user", "scripted", "--data", str(SAMPLES / "customers.csv"), "--out", str(out)]
    done = _run(chat, config=config, stdin="/data\n")
    assert done.returncode == 0, done.stderr
    assert "StatAgent chat as user scripted." in done.stdout
    assert done.stdout.count("📋 customers.csv: 150 rows") == 2
    # Log lines never mix into the conversation: they go to a file unless --log-level asks.
    assert done.stderr == "" and '"event": "job succeeded"' in (out / "chat.log").read_text()
    asked = _run([*chat, "--log-level", "info"], config=config, stdin="/data\n")
    assert asked.returncode == 0 and "job succeeded" in asked.stderr and "job succeeded" not in asked.stdout


async def test_files_of_a_later_chat_never_overwrite_an_earlier_chats(tmp_path):
    plot = tmp_path / "plot.png"
    for content in (b"first chat", b"second chat"):  # the same second, the same message number
        plot.write_bytes(content)
        sink = TerminalSink(out=io.StringIO(), folder=tmp_path / "out", upload_limit=1000)
        await sink.send(Photo(path=plot, caption="Plot"))
    files = sorted((tmp_path / "out").iterdir())
    assert len(files) == 2 and {f.read_bytes() for f in files} == {b"first chat", b"second chat"}


@pytest.mark.docker
def test_statagent_demo_plays_the_whole_conversation(tmp_path, runner_image):
    config = _config_file(tmp_path, runner_image)
    done = _run(["demo", "--out", str(tmp_path / "out")], config=config)
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert out.count("🎯 Model Training Complete!") == 2
    regression, classifier = out.split("▶ The user sends a table of customers")
    assert "Model Type: Linear Regression" in regression and "• R2: " in regression
    assert "🔗 size and price: 117 rows with both" in regression and "Spearman" in regression
    # The regression's coefficient table in its answer; a question about a column gets a sentence.
    table = re.findall(r"Coefficients of price: OLS on \d+ rows\n(?:.*\n)*?.*Pr\(>\|t\|\)", regression)
    assert len(table) == 1 and "Signif. codes:" in regression and "Multiple R-squared:" in regression
    assert re.search(r"🤖 age: \S+ per unit, p [<=] \S+.*: (?:not )?significant at the 5% level\.", regression)
    assert "Model Type: Random Forest" in classifier and "• Accuracy: " in classifier and "• F1: " in classifier
    assert "🔮 Predictions Generated" in out and "Row 1:" in out
    assert "📎 8 predictions by model_" in out
    assert sorted(p.suffix for p in (tmp_path / "out").iterdir()).count(".png") >= 4


def test_help_lists_every_command(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    listed = capsys.readouterr().out
    for command in ("chat", "demo", "bot", "parse", "job", "admin"):
        assert f"    {command}" in listed


def test_errors_end_in_one_sentence_and_exit_code_2(tmp_path, runner_image):
    missing = _run(["chat"], config=tmp_path / "nowhere.yaml")
    assert missing.returncode == 2
    assert missing.stderr.startswith("The service is misconfigured; an administrator has to fix it.\n")
    assert "cannot read configuration" in missing.stderr

    no_token = _run(["bot"], config=_config_file(tmp_path, runner_image))
    assert no_token.returncode == 2
    assert "TELEGRAM_BOT_TOKEN is not set" in no_token.stderr
    assert "Traceback" not in missing.stderr + no_token.stderr
