"""``sentinel completion bash``: the script completes commands, actions and options in bash."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from sentinel.cli import main


def complete(script: Path, line: str) -> list[str]:
    program = (
        f'source "{script}"; COMP_WORDS=({line}); '
        + ('COMP_WORDS+=(""); ' if line.endswith(" ") else "")
        + 'COMP_CWORD=$((${#COMP_WORDS[@]}-1)); _sentinel; printf "%s\\n" "${COMPREPLY[@]}"'
    )
    done = subprocess.run(["bash", "-c", program], capture_output=True, text=True, check=True)
    return done.stdout.split()


@pytest.mark.skipif(shutil.which("bash") is None, reason="no bash")
def test_bash_completion(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["completion", "bash"]) == 0
    script = tmp_path / "sentinel.bash"
    script.write_text(capsys.readouterr().out)
    assert complete(script, "sentinel hel") == ["held"]
    assert complete(script, "sentinel held a") == ["approve"]
    assert complete(script, "sentinel --json held list --s") == ["--status"]
    assert {"assign", "close", "note", "export"} <= set(complete(script, "sentinel --config x incidents "))
    assert complete(script, "sentinel nonsense ") == complete(script, "sentinel ")  # unknown words skipped
