"""Project settings: no secret in the repository, a clean ``check --deploy``, no testserver."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import Server

ROOT = Path(__file__).resolve().parent.parent
STRONG_KEY = "k9-Xq2vLr7Tz4Wb8Ny1Pd6Hs3Jf5Gc0Mm-Qe7Ua2Zo4Ri9Vt1Lw8Kx3By6Np5Cs"

#: What the README's deploy section documents for production.
PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": STRONG_KEY,
    "ALLOWED_HOSTS": "app.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://app.example.com",
    "DATABASE_URL": "postgres://app@db.example.com:5432/app",
    "REDIS_URL": "redis://redis.example.com:6379/0",
    "SECURE_PROXY_SSL_HEADER": "X-Forwarded-Proto",
}


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in (*PRODUCTION, "LIVE_HTTPS")}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "settings", **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_check_deploy_is_clean_in_the_documented_production_settings() -> None:
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION)
    assert (result.returncode, result.stdout, result.stderr) == (
        0,
        "System check identified no issues (0 silenced).\n",
        "",
    )


def test_check_deploy_warns_when_https_is_turned_off() -> None:
    result = manage(
        "check", "--deploy", "--fail-level", "WARNING", env={**PRODUCTION, "LIVE_HTTPS": "0"}
    )
    assert result.returncode == 1
    for code in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert code in result.stderr


def test_production_refuses_to_start_without_a_secret_key() -> None:
    env = {key: value for key, value in PRODUCTION.items() if key != "SECRET_KEY"}
    result = manage("check", env=env)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        "django.core.exceptions.ImproperlyConfigured: DEBUG=0 needs a SECRET_KEY in the "
        'environment, e.g. `python -c "import secrets; print(secrets.token_urlsafe(50))"`.'
    )


def test_the_checkout_key_is_made_once_private_and_shared_by_concurrent_starts(
    tmp_path: Path,
) -> None:
    script = (
        "import sys; from pathlib import Path; from settings import checkout_secret_key; "
        "print(checkout_secret_key(Path(sys.argv[1])))"
    )
    key_file = tmp_path / ".secret_key"
    env = {**os.environ, "DEBUG": "1", "PYTHONPATH": str(ROOT)}
    env.pop("SECRET_KEY", None)
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(key_file)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(6)
    ]
    keys = {process.communicate(timeout=60)[0].strip() for process in processes}
    assert len(keys) == 1
    (key,) = keys
    assert len(key) >= 50
    assert key_file.read_text() == key
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == [".secret_key"]


def test_the_key_file_is_ignored_by_git() -> None:
    ignored = (ROOT / ".gitignore").read_text().splitlines()
    assert {"/.secret_key", "/.secret_key.*"} <= set(ignored)


def test_testserver_is_not_an_allowed_host_outside_tests() -> None:
    env = {k: v for k, v in os.environ.items() if k not in PRODUCTION}
    result = subprocess.run(
        [sys.executable, "-c", "import settings; print(settings.ALLOWED_HOSTS)"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.stdout.strip() == "['127.0.0.1', 'localhost', '[::1]']"


def test_daphne_refuses_the_testserver_host(daphne_server: Server) -> None:
    url = daphne_server.url + "/accounts/login/"
    request = urllib.request.Request(url, headers={"Host": "testserver"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 400
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.status == 200
