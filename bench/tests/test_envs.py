import json
import os
import sys
from dataclasses import asdict

from harness import envs

SPEC = envs.EnvSpec("demo", ("demo-package",), ("demo-package",))


def _fake_uv(tmp_path, body: str) -> str:
    script = tmp_path / "fake-uv"
    script.write_text(f"#!{sys.executable}\nimport sys\n{body}\n")
    script.chmod(0o755)
    return str(script)


def test_a_failed_install_says_why(tmp_path) -> None:
    uv = _fake_uv(tmp_path, 'print("no solution for demo-package", file=sys.stderr); sys.exit(1)')
    environments = envs.Environments(tmp_path / "envs", uv=uv, python=sys.executable)
    install = environments.make(SPEC)
    assert not install.ok
    assert "no solution for demo-package" in install.error
    assert environments.existing(SPEC) is None


def test_an_earlier_environment_is_reused_only_for_the_same_requirements(tmp_path) -> None:
    environments = envs.Environments(tmp_path / "envs", uv="uv", python=sys.executable)
    assert environments.existing(SPEC) is None
    venv = environments.path(SPEC)
    venv.mkdir(parents=True)
    record = envs.Install("demo", ["demo-package"], ok=True, seconds=1.5, packages=3)
    (venv / envs.RECORD_FILE).write_text(json.dumps(asdict(record)))
    assert environments.existing(SPEC) == record
    changed = envs.EnvSpec("demo", ("demo-package", "ipykernel"), ())
    assert environments.existing(changed) is None


def test_tree_size_counts_hard_links_once(tmp_path) -> None:
    (tmp_path / "a").write_bytes(b"x" * 100)
    os.link(tmp_path / "a", tmp_path / "b")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "c").write_bytes(b"y" * 10)
    assert envs.tree_size(tmp_path) == 110
