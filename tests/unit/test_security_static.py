"""No secret is ever committed with the code: passwords, keys and tokens come only from
Airflow connections or the environment.

Every text file under ``dags/``, ``plugins/``, ``src/``, ``dev/``, ``sql/`` and ``config/`` is scanned for what a leaked
secret looks like: a password-like name given a literal value, a URL with a password in it,
an AWS access key id, a private key. Documented placeholders (``change-me``, ``<password>``,
``${VAR}``, …) are allowed; the scanner itself is tested on examples of both.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("dags", "plugins", "src", "dev", "sql", "config")
SKIPPED_DIRS = {"__pycache__", ".egg-info"}
BINARY_SUFFIXES = {".pyc", ".png", ".jpg", ".gz", ".zip", ".xlsx", ".parquet", ".whl"}

CREDENTIAL_WORDS = r"(?:password|passwd|pwd|secret|secret_key|api_key|apikey|access_key|auth_token|token|private_key)"
PATTERNS = {
    # password = "hunter2", "password": "hunter2", PASSWORD='x' (a quoted literal, not a variable)
    "password-like name with a literal value": re.compile(
        rf"""(?ix) \b[\w.-]*{CREDENTIAL_WORDS}["']? \s* (?:=|:|=>) \s* (?P<q>["'])(?P<value>[^"'\n]{{3,}})(?P=q)"""),
    # libpq keyword form inside a string: "host=db password=hunter2" (only counted inside quotes)
    "password in a connection string": re.compile(r"(?i)\bpassword=(?P<value>[^\s\"'&;,]{3,})"),
    # scheme://user:password@host
    "password in a URL": re.compile(r"(?i)\b[a-z][a-z0-9+.-]*://[^/\s:@'\"]+:(?P<value>[^/\s@'\"]+)@"),
    "AWS access key id": re.compile(r"\b(?P<value>(?:AKIA|ASIA|AGPA|AIDA|AROA)[0-9A-Z]{16})\b"),
    "private key": re.compile(r"-----BEGIN (?P<value>[A-Z ]*PRIVATE KEY)-----"),
}
# Values that are documented placeholders or references to where the secret really lives.
PLACEHOLDER = re.compile(
    r"""(?ix)^(?:
        change[-_]?me | changeme | <[^>]*> | \$\{[^}]*\} | \$[A-Z_][A-Z0-9_]* | \{\{[^}]*\}\} | \{[a-z_]*\}
        | x{3,} | \*{3,} | \.{3} | example\w* | placeholder | redacted | none | null | test(?:ing)? | password
        | %\(\w+\)s | %s
    )$""")
# Files where a match is known not to be a secret, each with the reason (none so far).
ALLOWED: dict[str, str] = {}
INSIDE_A_STRING_ONLY = {"password in a connection string"}


def scanned_files() -> list[Path]:
    files = []
    for top in SCANNED:
        for path in sorted((ROOT / top).rglob("*")):
            if not path.is_file() or path.suffix in BINARY_SUFFIXES:
                continue
            if any(part in SKIPPED_DIRS or part.endswith(".egg-info") for part in path.parts):
                continue
            files.append(path)
    return files


def _inside_string(line: str, position: int) -> bool:
    before = line[:position]
    return before.count('"') % 2 == 1 or before.count("'") % 2 == 1


def find_secrets(text: str) -> list[tuple[int, str, str]]:
    """(line number, kind, line) of everything in ``text`` that looks like a committed secret."""
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        for kind, pattern in PATTERNS.items():
            for match in pattern.finditer(line):
                if kind in INSIDE_A_STRING_ONLY and not _inside_string(line, match.start()):
                    continue  # a keyword argument such as password=info.password
                value = match.group("value").strip()
                if kind in ("AWS access key id", "private key") or not PLACEHOLDER.match(value):
                    found.append((number, kind, line.strip()[:160]))
    return found


def test_the_scan_covers_the_code():
    files = scanned_files()
    assert len(files) > 40
    assert {"dags", "src", "dev", "sql", "config"} <= {f.relative_to(ROOT).parts[0] for f in files}


def test_no_secret_is_committed_with_the_code():
    leaks = []
    for path in scanned_files():
        relative = path.relative_to(ROOT).as_posix()
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # not a text file
        for number, kind, line in find_secrets(text):
            if relative not in ALLOWED:
                leaks.append(f"{relative}:{number}: {kind}: {line}")
    assert not leaks, "secrets must come from Airflow connections or the environment:\n" + "\n".join(leaks)


AWS_KEY = "AKIA" + "Q3EXAMPLE7TESTKEY"[:16]


@pytest.mark.parametrize("line", [
    'password = "s3cr3t-Passw0rd"',
    "PASSWORD='hunter2hunter2'",
    '{"login": "hmis", "password": "Kx81-qq"}',
    'secret_key: "abcd1234efgh"',
    'api_token = "ghp_abcdefghijklmnop"',
    'dsn = "host=db user=hmis password=hunter2 dbname=hmis"',
    "postgres://hmis:hunter2@warehouse:5432/hmis",
    "postgresql+psycopg2://airflow:Zz9-secret@db/airflow",
    f"aws_access_key_id = {AWS_KEY}",
    "-----BEGIN RSA " + "PRIVATE KEY-----",
    "-----BEGIN OPENSSH " + "PRIVATE KEY-----",
])
def test_the_scanner_finds_secrets(line):
    assert find_secrets(line), line


@pytest.mark.parametrize("line", [
    "password=info.password,",
    "password = os.environ['WAREHOUSE_PASSWORD']",
    'password = "change-me"',
    'WAREHOUSE_PASSWORD: "${WAREHOUSE_PASSWORD}"',
    "postgres://hmis:<password>@warehouse:5432/hmis",
    "postgres://${WAREHOUSE_USER}:${WAREHOUSE_PASSWORD}@warehouse/hmis",
    "postgres://postgres@127.0.0.1:5432/postgres",
    'client.login(info.login, info.password or "")',
    'token = "{{ var.value.token }}"',
    'connect(host=host, user="hmis", password=secret_from_vault())',
    "dsn = f'host={host} password=%(password)s'",
])
def test_the_scanner_allows_placeholders_and_references(line):
    assert not find_secrets(line), line
