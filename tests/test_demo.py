"""`permission-canary demo` plays the whole story and says so (run as a user would, in a subprocess:
its moto server must not share in-process state with the test session's server)."""

from __future__ import annotations

import os
import subprocess
import sys


def test_demo_tells_the_story_and_exits_zero(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    p = subprocess.run([sys.executable, "-m", "canary.cli", "demo", "--workdir", str(tmp_path)],
                       capture_output=True, text=True, timeout=300, env={**env, "COLUMNS": "120"})
    assert p.returncode == 0, p.stdout + p.stderr
    out = " ".join(p.stdout.split())  # rich wraps to the terminal width; compare words, not lines
    first, _, second = out.partition("The fix")
    for probe in ("listings-update", "listings-delete", "welcome-email"):
        assert f"DENIED {probe}" in first
    assert '"ProbesDenied":3.0' in first
    assert "7 allowed, 0 denied, 0 errors" in second
    assert "byte-identical before and after both runs: yes" in second
    assert "Demo complete" in out
    assert (tmp_path / "policy-dev.fixed.json").exists() and (tmp_path / "canary.json").exists()


def test_without_the_emulator_the_demo_says_how_to_get_it_in_one_line_and_exits_two():
    # moto comes with the `demo` extra; a plain install must not answer with a traceback and exit 1 (DENIED).
    import subprocess
    import sys

    code = "import sys; sys.modules['moto'] = None; from canary.cli import main; main(['demo'])"
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert p.returncode == 2
    assert p.stderr.startswith("error: the demo needs the embedded AWS emulator (moto)") and "Traceback" not in p.stderr
    assert "[demo]" in p.stderr
