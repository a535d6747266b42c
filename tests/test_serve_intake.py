"""`jixiao serve --store` as a supervisor runs it: the real command in a subprocess.

* With no credential given, the server generates one into `STORE.token` (mode 0600), says
  where, and reuses it on the next start (never overwritten).
* A unit posts a bundle without any credential and it is stored; the dashboard and the JSON
  routes answer 401 without the credential and show the unit with it.
* The credential can also come from `JIXIAO_SUPERVISOR_TOKEN` or `--token-file`.
* Bad options end in one Chinese line and exit 2, never a traceback.
"""

from __future__ import annotations

import os
import socket
import stat
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx2 as httpx
import pytest

from consolidate_helpers import own_bundle, supervisor, tampered_bundle
from jixiao.bundle.keys import key_file_json
from jixiao.store import Store
from jixiao_process import JIXIAO, answers, free_port, stand_in_site, stop, wait_up

ZIP = {"Content-Type": "application/zip"}


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """A stand-in for a built site: what `--site` asks for."""
    return stand_in_site(tmp_path / "site")


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("JIXIAO_SUPERVISOR_TOKEN", "JIXIAO_DEBUG")}
    return {**env, **extra}


def _start(site: Path, args: tuple[str, ...], env: dict[str, str] | None) -> tuple[subprocess.Popen[str], str, bool]:
    """`jixiao serve --site SITE ARGS…` on a free port: (process, base URL, whether the site answered)."""
    port = free_port()
    proc = subprocess.Popen([JIXIAO, "serve", "--site", str(site), "--port", str(port), *args],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env or _env(), text=True)
    base = f"http://127.0.0.1:{port}"
    return proc, base, wait_up(proc, answers(base))


@contextmanager
def serve(site: Path, *args: str, env: dict[str, str] | None = None) -> Iterator[str]:
    """`jixiao serve --site SITE ARGS…`, once the site answers; yields the base URL."""
    proc, base, up = _start(site, args, env)
    if not up:
        proc.kill()
        raise AssertionError(f"jixiao serve did not start: {proc.stderr.read() if proc.stderr else ''}")
    try:
        yield base
    finally:
        print(stop(proc))


def _started(site: Path, *args: str, env: dict[str, str] | None = None) -> str:
    """Start, stop at once, and return what the command printed (for the start-up lines)."""
    proc, _base, _up = _start(site, args, env)
    return str(stop(proc))


def test_generated_credential_units_post_supervisor_reads(site: Path, tmp_path: Path) -> None:
    db = tmp_path / "收件.sqlite"
    token_path = tmp_path / "收件.sqlite.token"
    printed = _started(site, "--store", str(db))
    assert token_path.is_file()
    assert stat.S_IMODE(token_path.stat().st_mode) == 0o600
    assert f"已生成并保存在 {token_path}" in printed, printed
    assert "/admin/" in printed and "Traceback" not in printed
    token = token_path.read_text(encoding="utf-8").strip()
    assert len(token) >= 20 and token not in printed  # the path is printed, never the credential

    with serve(site, "--store", str(db)) as base:
        assert token_path.read_text(encoding="utf-8").strip() == token  # reused, not overwritten
        info = httpx.get(base + "/api/intake")
        assert info.status_code == 200 and info.json()["accepting"] is True
        data = own_bundle()[1]
        posted = httpx.post(base + "/api/bundles", content=data, headers=ZIP)
        assert posted.status_code == 201, posted.text
        assert "核验通过" in posted.json()["message"]
        refused = httpx.post(base + "/api/bundles", content=tampered_bundle()[1], headers=ZIP)
        assert refused.status_code == 422 and refused.json()["message"].startswith("未接收")

        for path in ("/admin/", "/api/admin/bundles", "/api/admin/summary.xlsx"):
            assert httpx.get(base + path).status_code == 401, path
            assert httpx.get(base + path, auth=("主管", "wrong-token-123")).status_code == 401, path
        page = httpx.get(base + "/admin/", auth=("任意", token))
        assert page.status_code == 200 and "进贤县科技和工业信息化局" in page.text
        listed = httpx.get(base + "/api/admin/bundles", headers={"Authorization": f"Bearer {token}"})
        assert [b["unit_code"] for b in listed.json()] == ["360124-KGX"]
        # Units can only submit: nothing else under /api/ or /admin/ without the credential.
        assert httpx.post(base + "/api/admin/reviews", json={"unit_code": "360124-KGX", "year": 2021,
                                                             "score": "90"}).status_code == 401
    with Store(db, create=False) as store:
        assert store.count() == 1


def test_credential_from_environment_or_file_and_review_key(site: Path, tmp_path: Path) -> None:
    db = tmp_path / "intake.sqlite"
    key_file = tmp_path / "supervisor.key"
    key_file.write_text(key_file_json(supervisor()), encoding="utf-8")
    key_file.chmod(0o600)
    env = _env(JIXIAO_SUPERVISOR_TOKEN="env-token-0123456789")
    with serve(site, "--store", str(db), "--review-key", str(key_file), env=env) as base:
        assert httpx.post(base + "/api/bundles", content=own_bundle()[1], headers=ZIP).status_code == 201
        auth = {"Authorization": "Bearer env-token-0123456789"}
        review = httpx.post(base + "/api/admin/reviews", headers=auth,
                            json={"unit_code": "360124-KGX", "year": 2021, "score": "96"})
        assert review.status_code == 201, review.text
    assert not (tmp_path / "intake.sqlite.token").exists()  # nothing generated when one was given

    token_file = tmp_path / "token.txt"
    token_file.write_text("file-token-abcdefgh\n", encoding="utf-8")
    token_file.chmod(0o600)
    with serve(site, "--store", str(db), "--token-file", str(token_file)) as base:
        assert httpx.get(base + "/admin/", auth=("x", "file-token-abcdefgh")).status_code == 200
        assert httpx.get(base + "/admin/", auth=("x", "env-token-0123456789")).status_code == 401


def _fails(site: Path, *args: str, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run([JIXIAO, "serve", "--site", str(site), "--port", str(free_port()), *args],
                          capture_output=True, text=True, timeout=60, env=env or _env(), check=False)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    return lines[0]


def test_bad_options_are_one_chinese_line(site: Path, tmp_path: Path) -> None:
    db = str(tmp_path / "s.sqlite")
    assert "只在开启收件时有效" in _fails(site, "--roster", "r.json")
    assert "--review-key" in _fails(site, "--review-key", "k.json", "--token-file", "t")
    assert "找不到管理口令文件" in _fails(site, "--store", db, "--token-file", str(tmp_path / "none"))
    assert "太短" in _fails(site, "--store", db, env=_env(JIXIAO_SUPERVISOR_TOKEN="short"))
    assert "是文件夹" in _fails(site, "--store", str(tmp_path))
    assert "不存在" in _fails(site, "--store", str(tmp_path / "no" / "such" / "s.sqlite"))
    assert "密钥文件不存在" in _fails(site, "--store", db, "--review-key", str(tmp_path / "nokey"),
                                 env=_env(JIXIAO_SUPERVISOR_TOKEN="long-enough-token"))
    bad_roster = tmp_path / "roster.json"
    bad_roster.write_text("{}", encoding="utf-8")
    assert "名册" in _fails(site, "--store", db, "--roster", str(bad_roster),
                          env=_env(JIXIAO_SUPERVISOR_TOKEN="long-enough-token"))
    # The port, the address and the certificate are checked before "门户已启动" is printed (uvicorn
    # said it in English, after that line, with exit code 3).
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert f"端口 {port} 已被占用" in _fails(site, "--port", str(port))
    assert "本机没有这个地址" in _fails(site, "--host", "192.0.2.1")  # TEST-NET-1: never a local address
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate", encoding="utf-8")
    assert "证书或私钥无法使用" in _fails(site, "--cert", str(junk), "--key", str(junk))


def test_a_key_enrolled_while_the_server_runs_is_accepted_without_a_restart(site: Path, tmp_path: Path) -> None:
    """keys.md's order: the unit makes its key on the portal, hands in the 公钥登记表, the supervisor enrols it
    with `jixiao roster add` — beside the running `serve --roster`. The server had read the roster at start
    and refused the unit ("名册中没有该单位", telling it to correct and re-export) until it was restarted."""
    from bundle_helpers import unit_key

    owner = tmp_path / "主管部门密钥.json"
    owner.write_text(key_file_json(supervisor()), encoding="utf-8")
    roster = tmp_path / "名册.json"
    subprocess.run([JIXIAO, "roster", "init", str(roster), "--key", str(owner), "--name", "主管部门"], check=True,
                   capture_output=True)
    with serve(site, "--store", str(tmp_path / "intake.sqlite"), "--roster", str(roster),
               env=_env(JIXIAO_SUPERVISOR_TOKEN="roster-token-0123")) as base:
        refused = httpx.post(base + "/api/bundles", content=own_bundle()[1], headers=ZIP)
        assert refused.status_code == 422 and "名册中没有该单位" in refused.json()["message"], refused.text
        subprocess.run([JIXIAO, "roster", "add", str(roster), "--key", str(owner), "--unit-code", "360124-KGX",
                        "--unit-name", "进贤县科技和工业信息化局", "--public-key", unit_key().public.text(),
                        "--valid-from", "2021-01-01"], check=True, capture_output=True)
        accepted = httpx.post(base + "/api/bundles", content=own_bundle()[1], headers=ZIP)
        assert accepted.status_code == 201, accepted.text
