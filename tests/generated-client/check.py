#!/usr/bin/env python3
"""A client generated from openapi.yaml by an outside generator, used against the real server.

openapi-python-client (pinned in requirements.txt) generates a Python client from the spec into
a temporary directory (never committed), failing on any warning about the spec. The script then
starts the `tether-api` binary on a random port over a fresh SQLite database and, through the
GENERATED client only, signs in, creates a counselor and two patients, pushes a check-in and
sessions, and reads back what generated clients crashed on before: sessions whose `kind`,
`status`, `rsvp` and `attendance` are null, and a caseload row whose `priority` is null (a
patient with no flag) with a next session whose `kind` is null. Error answers are parsed as the
one `Error` model. Every parsed value is checked.

    python tests/generated-client/check.py [--spec openapi.yaml] [--server-bin target/debug/tether-api]

Exit status 0 when every check passed. Needs the packages of requirements.txt.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import os
import pathlib
import queue
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import uuid

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent
ADMIN_EMAIL = "ada@generated-client.test"
PASSWORD = "a generated client password"


def generate(spec: pathlib.Path, into: pathlib.Path) -> None:
    """Generates the client package `tether_client` into `into`; any warning fails."""
    generator = shutil.which("openapi-python-client") or str(
        pathlib.Path(sys.executable).parent / "openapi-python-client"
    )
    out = subprocess.run(
        [
            generator,
            "generate",
            "--path",
            str(spec),
            "--meta",
            "none",
            "--config",
            str(HERE / "config.yaml"),
            "--output-path",
            str(into / "tether_client"),
            "--fail-on-warning",
        ],
        capture_output=True,
        text=True,
    )
    text = out.stdout + out.stderr
    if out.returncode != 0 or "warning" in text.lower():
        sys.exit(f"openapi-python-client failed or warned about {spec}:\n{text}")


def uuid7() -> uuid.UUID:
    """A UUID v7 (the op ids the server wants), from the wall clock and random bits."""
    ms = time.time_ns() // 1_000_000
    value = (ms & ((1 << 48) - 1)) << 80 | secrets.randbits(80)
    value = (value & ~(0xF << 76)) | (0x7 << 76)  # version 7
    value = (value & ~(0x3 << 62)) | (0x2 << 62)  # RFC 4122 variant
    return uuid.UUID(int=value)


class Server:
    """`tether-api` on a random port over a SQLite file in `directory`."""

    def __init__(self, binary: str, directory: pathlib.Path) -> None:
        self.database = str(directory / "tether.db")
        env = {
            "PATH": os.environ.get("PATH", ""),
            "DATABASE_URL": self.database,
            "TETHER_LOG": "warn",
        }
        admin = subprocess.run(
            [binary, "admin", "create", "--email", ADMIN_EMAIL, "--name", "Ada Admin",
             "--clinic", "Generated Client Clinic"],
            input=f"{PASSWORD}\n",
            capture_output=True,
            text=True,
            env=env,
        )
        if admin.returncode != 0:
            sys.exit(f"tether-api admin create failed:\n{admin.stderr}")
        self.log = open(directory / "server.log", "w")
        self.child = subprocess.Popen(
            [binary],
            env={
                **env,
                "TETHER_BIND": "127.0.0.1:0",
                "TETHER_JWT_SECRET": secrets.token_hex(32),
                "TETHER_LOG": "info",
                "TETHER_SHUTDOWN_SECS": "2",
            },
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
        )
        lines: queue.Queue[str] = queue.Queue()
        threading.Thread(
            target=lambda: [lines.put(line) for line in self.child.stdout], daemon=True
        ).start()
        deadline = time.monotonic() + 60
        while True:
            try:
                line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                self.stop()
                sys.exit("the server did not start in 60 s")
            match = re.fullmatch(r"tether-api listening on port (\d+)", line.strip())
            if match:
                self.url = f"http://127.0.0.1:{match.group(1)}"
                return

    def stop(self) -> None:
        if self.child.poll() is None:
            self.child.terminate()
            try:
                self.child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.child.kill()
        self.log.close()


class Checks:
    """Counts checks; a failed one is reported and the run goes on."""

    def __init__(self) -> None:
        self.passed = 0
        self.failed = 0

    def equal(self, what: str, actual: object, expected: object) -> None:
        if actual == expected:
            self.passed += 1
        else:
            self.failed += 1
            print(f"FAILED {what}: got {actual!r}, expected {expected!r}")

    def section(self, what: str, run) -> None:
        """Runs one part of the story; the generated client raising in it is one failure."""
        try:
            run()
        except Exception as error:
            traceback.print_exc()
            self.failed += 1
            print(f"FAILED {what}: the generated client raised {type(error).__name__}: {error}")


def story(c, url: str, checks: Checks) -> None:
    """Everything below goes through the generated client `c` (the imported package)."""
    api = c.api
    m = c.models

    anonymous = c.Client(base_url=url, raise_on_unexpected_status=True)

    def signed_in(tokens) -> object:
        return c.AuthenticatedClient(
            base_url=url, token=tokens.access_token, raise_on_unexpected_status=True
        )

    def device(name: str) -> str:
        return f"{name} (generated client)"

    admin_tokens = api.auth.login.sync(
        client=anonymous, body=m.LoginRequest(email=ADMIN_EMAIL, password=PASSWORD)
    )
    checks.equal("the admin signs in", type(admin_tokens).__name__, "TokenResponse")
    admin = signed_in(admin_tokens)
    checks.equal("the admin's role parses", admin_tokens.user.role, m.Role.ADMIN)

    created = api.accounts.create_clinician.sync(
        client=admin,
        body=m.CreateClinicianRequest(email="cora@generated-client.test", display_name="Cora"),
    )
    counselor_tokens = api.auth.activate.sync(
        client=anonymous,
        body=m.ActivateRequest(
            code=created.activation_code, password=PASSWORD, device_name=device("laptop")
        ),
    )
    counselor = signed_in(counselor_tokens)

    def enroll(name: str):
        enrolled = api.accounts.enroll_patient.sync(
            client=counselor,
            body=m.EnrollPatientRequest(
                email=f"{name.lower()}@generated-client.test", display_name=name
            ),
        )
        tokens = api.auth.activate.sync(
            client=anonymous,
            body=m.ActivateRequest(
                code=enrolled.enrollment_code, password=PASSWORD, device_name=device("phone")
            ),
        )
        phone = signed_in(tokens)
        api.consent.create_consent.sync(
            id=enrolled.id,
            client=phone,
            body=m.CreateConsentRequest(
                grantee=m.Grantee.CARE_TEAM, purpose="treatment in the IOP"
            ),
        )
        return enrolled.id, phone

    steady_id, steady = enroll("Sam")  # checks in today, calmly: no flag
    quiet_id, _quiet = enroll("Quinn")  # never checks in: a `no_recent_checkin` flag

    seqs: dict[int, int] = {}

    def push(client, patient, kind: str, doc, fields: dict) -> None:
        node = id(client) & 0xFFFF_FFFF_FFFF_FFFF
        ops = []
        for field, value in fields.items():
            seq = seqs[node] = seqs.get(node, 0) + 1
            wall = time.time_ns() // 1_000_000
            ops.append(
                m.Op(
                    id=uuid7(),
                    patient=patient,
                    kind=m.DocKind(kind),
                    doc=doc,
                    field=field,
                    value=value,
                    hlc=f"{wall:012x}-{seq:08x}-{node:016x}",
                    device_seq=seq,
                )
            )
        answer = api.sync.sync_push.sync(client=client, body=m.PushRequest(ops=ops))
        checks.equal(f"a {kind} push is accepted whole", len(answer.accepted), len(ops))
        checks.equal(f"a {kind} push answer says no crisis", answer.crisis_resources, None)

    now = int(time.time() * 1000)
    push(steady, steady_id, "checkin", uuid.uuid4(),
         {"recorded_at": now - 60_000, "tz_offset_min": 0, "intensity": 2, "mood": 4})
    bare = uuid.uuid4()  # a session with a start and nothing else: every enum is null
    push(counselor, steady_id, "session", bare, {"starts_at": now + 86_400_000})
    full = uuid.uuid4()
    push(counselor, steady_id, "session", full,
         {"starts_at": now - 7_200_000, "duration_min": 60, "kind": "individual",
          "status": "completed", "attendance": "attended"})
    push(steady, steady_id, "session", full, {"rsvp": "yes"})

    checks.section("list-sessions", lambda: sessions(c, counselor, steady_id, bare, full, checks))
    checks.section("the caseload", lambda: caseload(c, counselor, steady_id, quiet_id, bare, checks))
    checks.section("trends", lambda: trends(c, counselor, steady_id, checks))
    checks.section("errors", lambda: errors(c, url, counselor_tokens, steady_id, checks))


def sessions(c, counselor, steady_id, bare, full, checks: Checks) -> None:
    m = c.models
    page = c.api.records.list_sessions.sync(id=steady_id, client=counselor)
    checks.equal("list-sessions parses", type(page).__name__, "SessionPage")
    by_id = {item.id: item for item in page.items}
    got = by_id[bare]
    checks.equal(
        "null kind, status, rsvp and attendance parse as None",
        (got.kind, got.status, got.rsvp, got.attendance),
        (None, None, None, None),
    )
    got = by_id[full]
    checks.equal(
        "set kind, status, rsvp and attendance parse as enums",
        (got.kind, got.status, got.rsvp, got.attendance),
        (m.SessionItemKind.INDIVIDUAL, m.SessionItemStatus.COMPLETED, m.SessionItemRsvp.YES,
         m.SessionItemAttendance.ATTENDED),
    )
    checks.equal("the page's next_cursor is None", page.next_cursor, None)


def caseload(c, counselor, steady_id, quiet_id, bare, checks: Checks) -> None:
    m = c.models
    caseload = c.api.care.caseload.sync(client=counselor)
    checks.equal("the caseload parses", type(caseload).__name__, "Caseload")
    rows = {row.patient_id: row for row in caseload.patients}
    row = rows[steady_id]
    checks.equal("a patient without flags has priority None", (row.priority, row.flags), (None, []))
    checks.equal("their next session is the bare one", row.next_session.id, bare)
    checks.equal("its null kind parses as None", row.next_session.kind, None)
    checks.equal("their last intensity parses", row.last_intensity, 2)
    row = rows[quiet_id]
    checks.equal("a silent patient has priority medium", row.priority, m.CaseloadRowPriority.MEDIUM)
    checks.equal(
        "their flag parses as its own model",
        [type(f).__name__ for f in row.flags],
        ["NoRecentCheckinFlag"],
    )
    checks.equal("they have no next session", row.next_session, None)


def trends(c, counselor, steady_id, checks: Checks) -> None:
    trends = c.api.care.patient_trends.sync(id=steady_id, client=counselor)
    checks.equal("trends parse", type(trends).__name__, "Trends")
    checks.equal("the window is 28 local days", (trends.to - trends.from_).days, 27)
    checks.equal("the steady patient has no flag", trends.flags, [])


def errors(c, url, counselor_tokens, steady_id, checks: Checks) -> None:
    """Errors are the one Error model, whatever the status."""
    api = c.api
    m = c.models
    from tether_client.types import UNSET

    lenient = c.AuthenticatedClient(base_url=url, token=counselor_tokens.access_token)
    refused = api.care.patient_trends.sync_detailed(
        id=steady_id, client=lenient, to=dt.date(1, 1, 10)
    )
    checks.equal("a date before 1900 is refused", int(refused.status_code), 422)
    checks.equal("the refusal parses as Error", type(refused.parsed).__name__, "Error")
    checks.equal("its code is invalid_query", refused.parsed.error.code, "invalid_query")
    missing = api.schedules.get_track.sync_detailed(id=uuid.uuid4(), client=lenient)
    checks.equal("an unknown track is a 404 Error", (int(missing.status_code),
                 missing.parsed.error.code), (404, "not_found"))
    wrong = api.auth.login.sync_detailed(
        client=c.Client(base_url=url),
        body=m.LoginRequest(email=ADMIN_EMAIL, password="not the password", device_name=UNSET),
    )
    checks.equal("a wrong password is a 401 Error", (int(wrong.status_code),
                 wrong.parsed.error.code), (401, "invalid_credentials"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", default=str(ROOT / "openapi.yaml"))
    parser.add_argument(
        "--server-bin",
        default=os.environ.get("TETHER_API_BIN")
        or str(pathlib.Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "debug" / "tether-api"),
    )
    args = parser.parse_args()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="tether-generated-client-") as tmp:
        tmp = pathlib.Path(tmp)
        generate(pathlib.Path(args.spec), tmp)
        sys.path.insert(0, str(tmp))
        client = importlib.import_module("tether_client")
        for module in ("api", "models"):
            importlib.import_module(f"tether_client.{module}")
        for tag in ("auth", "accounts", "care", "consent", "records", "schedules", "sync"):
            importlib.import_module(f"tether_client.api.{tag}")
            for path in (tmp / "tether_client" / "api" / tag).glob("*.py"):
                if path.stem != "__init__":
                    importlib.import_module(f"tether_client.api.{tag}.{path.stem}")
        server = Server(args.server_bin, tmp)
        checks = Checks()
        try:
            checks.section("signing in and writing the records", lambda: story(client, server.url, checks))
        finally:
            server.stop()
            if checks.failed:
                print((tmp / "server.log").read_text()[-4000:])
    print(f"generated client: took {time.monotonic() - started:.1f} s")
    print(f"generated-client: {checks.passed} passed, {checks.failed} failed")
    sys.exit(1 if checks.failed else 0)


if __name__ == "__main__":
    main()
