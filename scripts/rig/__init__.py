"""The local AWS rig: moto (patched, auth on) and the CloudTrail fake, on loopback only.

This package is the rig; the setup script puts `scripts/` on the virtual environment's path
(`.venv`), so `import rig` and `from rig import organisation` work from anywhere in it.

    python -m rig start --state .rig/state.json     # prints the state
    eval "$(python -m rig env --state .rig/state.json)"
    python -m rig call create_table --state .rig/state.json --args '{"name": "registry"}'
    python -m rig stop --state .rig/state.json

Its modules: this one starts, stops and calls the rig; moto_launcher.py runs moto with
moto_corrections.py (where moto is not AWS), rig_knobs.py (the `/_rig/` admin routes) and
moto_seeding.py; cloudtrail_fake.py is the CloudTrail fake; lambda_emulator.py the Runtime API
emulator; fixtures.py what tests set up; deploy.py a function's environment, policy and events as
infra/ gives them; organisation.py the one organisation builder; activity.py and
cloudtrail_events.py the CloudTrail activity.

The state file is what later commands (and tests) read:
    {"region", "accountId", "moto": {"url", "pid"}, "cloudtrail": {"url", "pid"} | null,
     "admin": {"accessKeyId", "secretAccessKey"}}
Each server's output goes to a log next to it (`<state>.moto.log`, `<state>.cloudtrail.log`),
kept after stop for post-mortems.
"""
from __future__ import annotations

import argparse
import ipaddress
import json
import os
import shlex
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import boto3
import botocore.config
from botocore.exceptions import ClientError

MOTO_LAUNCHER = "rig.moto_launcher"
CLOUDTRAIL_FAKE = "rig.cloudtrail_fake"
REGION = "us-east-1"
ADMIN_USER = "rig-admin"
ADMIN_POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
# The bootstrap's unauthenticated calls (CreateUser, PutUserPolicy, CreateAccessKey); moto checks
# every request after these (see moto_launcher.py for how it counts).
BOOTSTRAP_ACTIONS = 3
# Any signature will do for the unauthenticated bootstrap: moto does not check it yet.
BOOTSTRAP_CREDENTIALS = {"aws_access_key_id": "rig-bootstrap", "aws_secret_access_key": "rig-bootstrap"}
STARTUP_TIMEOUT_SECONDS = 30.0
TERM_GRACE_SECONDS = 3.0
# Children started by this process, so that stop() can reap them (a zombie still answers kill 0).
_CHILDREN: dict[int, subprocess.Popen] = {}


# --- processes --------------------------------------------------------------------------------


def require_loopback(host: str) -> None:
    """Every server of the rig answers anyone who reaches it, so it binds loopback only."""
    try:
        if ipaddress.ip_address(host).is_loopback:
            return
    except ValueError:
        pass
    raise ValueError(f"the rig binds loopback IP addresses only, not {host!r}")


def _url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _spawn(module: str, host: str, port_file: Path, log: Path, env: dict[str, str]) -> subprocess.Popen:
    """A server that binds a free port on `host` and writes the port to `port_file`. Its own
    session, so that a Ctrl-C meant for the caller does not reach it; stop() ends it."""
    port_file.unlink(missing_ok=True)
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", module, "--host", host, "--port", "0", "--port-file", str(port_file)],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            env={**os.environ, **env}, start_new_session=True,
        )
    _CHILDREN[process.pid] = process
    return process


def _wait_for_port(process: subprocess.Popen, port_file: Path, log: Path) -> int:
    """The port the server listens on, once it does; its log's tail if it dies first."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if port_file.exists():
            port = int(port_file.read_text())
            port_file.unlink()
            return port
        if process.poll() is not None:
            raise RuntimeError(f"{log.name}: exited with {process.returncode}:\n{log.read_text()[-2000:]}")
        time.sleep(0.1)
    raise TimeoutError(f"no port from the server within {STARTUP_TIMEOUT_SECONDS} s; see {log}")


def _wait_until_answering(url: str) -> None:
    """moto's own config endpoint: it answers without counting as an action."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while True:
        try:
            with urllib.request.urlopen(f"{url}/moto-api/config", timeout=2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def _is_ours(pid: int, module: str) -> bool:
    """Whether `pid` still runs one of the rig's servers, so a recycled pid is never signalled."""
    try:
        return module in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return False


def _gone(pid: int) -> bool:
    """Ended, and reaped when it is our child; another process's zombie (its starter has not
    reaped it yet) counts as gone: it holds no port and runs nothing."""
    child = _CHILDREN.get(pid)
    if child is not None:
        if child.poll() is None:
            return False
        del _CHILDREN[pid]
        return True
    try:
        os.kill(pid, 0)
        return Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].startswith("Z")
    except (ProcessLookupError, FileNotFoundError):
        return True


def _terminate(pid: int, module: str) -> None:
    """SIGTERM, then SIGKILL after the grace period; returns once the process is gone. A pid
    that is neither our child nor running `module` any more has ended and may be someone else's."""
    if pid not in _CHILDREN and not _is_ours(pid, module):
        return
    for sig, wait in ((signal.SIGTERM, TERM_GRACE_SECONDS), (signal.SIGKILL, TERM_GRACE_SECONDS)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if _gone(pid):
                return
            time.sleep(0.05)
    raise RuntimeError(f"process {pid} ({module}) survived SIGKILL")


# --- AWS --------------------------------------------------------------------------------------


def client(state: dict, service: str, credentials: dict | None = None):
    """A boto3 client for the rig: CloudTrail goes to the fake, everything else to moto; signed
    with `credentials` (boto3's keyword names), rig-admin's by default. No retries: the tests
    want to see every answer as it is."""
    if credentials is None:
        credentials = {
            "aws_access_key_id": state["admin"]["accessKeyId"],
            "aws_secret_access_key": state["admin"]["secretAccessKey"],
        }
    endpoint = state["cloudtrail"]["url"] if service == "cloudtrail" and state["cloudtrail"] else state["moto"]["url"]
    return boto3.client(
        service, endpoint_url=endpoint, region_name=state["region"],
        config=botocore.config.Config(retries={"total_max_attempts": 1}), **credentials,
    )


def _bootstrap_admin(moto_url: str) -> dict:
    """rig-admin, allowed everything, made with the only unauthenticated calls moto allows."""
    iam = client({"moto": {"url": moto_url}, "cloudtrail": None, "region": REGION}, "iam", BOOTSTRAP_CREDENTIALS)
    iam.create_user(UserName=ADMIN_USER)
    iam.put_user_policy(UserName=ADMIN_USER, PolicyName="everything", PolicyDocument=json.dumps(ADMIN_POLICY))
    key = iam.create_access_key(UserName=ADMIN_USER)["AccessKey"]
    return {"accessKeyId": key["AccessKeyId"], "secretAccessKey": key["SecretAccessKey"]}


def _require_auth_on(state: dict) -> None:
    """A request signed with a key moto does not know must fail, or the bootstrap miscounted."""
    stranger = {"aws_access_key_id": "AKIARIGSTRANGER00000", "aws_secret_access_key": "x"}
    try:
        client(state, "iam", stranger).list_users()
    except ClientError:
        return
    raise RuntimeError("moto answered an unknown access key: its auth is off")


def add_cloudtrail_key(state: dict, access_key_id: str, secret: str, allow: list[str] | None = None) -> None:
    """Lets the CloudTrail fake accept one more key, for every action or only those `allow`
    names; a no-op when the fake is not running."""
    if state["cloudtrail"]:
        value = secret if allow is None else {"secret": secret, "allow": allow}
        cloudtrail_admin(state, "POST", "keys", {access_key_id: value})


def cloudtrail_admin(state: dict, method: str, route: str, body=None):
    """One call of the CloudTrail fake's admin API (`/_fake/<route>`); its JSON answer, if any."""
    request = urllib.request.Request(
        f"{state['cloudtrail']['url']}/_fake/{route}", method=method,
        data=None if body is None else json.dumps(body).encode(), headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=300) as response:
        text = response.read()
    return json.loads(text) if text else None


# --- start, stop, call ------------------------------------------------------------------------


def _log_path(state_path: Path, name: str) -> Path:
    return state_path.with_name(f"{state_path.stem}.{name}.log")


def _start_moto(state_path: Path, host: str) -> dict:
    log = _log_path(state_path, "moto")
    port_file = state_path.with_name(f"{state_path.stem}.moto.port")
    env = {"INITIAL_NO_AUTH_ACTION_COUNT": str(BOOTSTRAP_ACTIONS)}
    process = _spawn(MOTO_LAUNCHER, host, port_file, log, env)
    try:
        url = _url(host, _wait_for_port(process, port_file, log))
        _wait_until_answering(url)
    except BaseException:
        _terminate(process.pid, MOTO_LAUNCHER)
        raise
    return {"url": url, "pid": process.pid}


def _start_cloudtrail(state_path: Path, host: str, admin: dict) -> dict:
    """The CloudTrail fake, accepting rig-admin's key."""
    log = _log_path(state_path, "cloudtrail")
    port_file = state_path.with_name(f"{state_path.stem}.cloudtrail.port")
    env = {"CLOUDTRAIL_FAKE_ACCESS_KEYS": json.dumps({admin["accessKeyId"]: admin["secretAccessKey"]})}
    process = _spawn(CLOUDTRAIL_FAKE, host, port_file, log, env)
    try:
        return {"url": _url(host, _wait_for_port(process, port_file, log)), "pid": process.pid}
    except BaseException:
        _terminate(process.pid, CLOUDTRAIL_FAKE)
        raise


def read_state(state_path: str | os.PathLike) -> dict:
    return json.loads(Path(state_path).read_text())


def _running(state_path: Path) -> bool:
    """Whether a server named in an existing state file still runs."""
    if not state_path.exists():
        return False
    state = read_state(state_path)
    return any(state.get(name) and not _gone(state[name]["pid"]) for name in ("moto", "cloudtrail"))


def start(state_path: str | os.PathLike, host: str = "127.0.0.1") -> dict:
    """Starts the rig, writes its state file and returns the state. Refuses a non-loopback
    host, and a state file whose servers still run."""
    require_loopback(host)
    state_path = Path(state_path)
    if _running(state_path):
        raise RuntimeError(f"the rig of {state_path} is running; stop it first")
    state_path.parent.mkdir(parents=True, exist_ok=True)
    moto = _start_moto(state_path, host)
    state = {"region": REGION, "accountId": None, "moto": moto, "cloudtrail": None, "admin": None}
    try:
        state["admin"] = _bootstrap_admin(moto["url"])
        _require_auth_on(state)
        state["accountId"] = client(state, "sts").get_caller_identity()["Account"]
        state["cloudtrail"] = _start_cloudtrail(state_path, host, state["admin"])
    except BaseException:
        _terminate(moto["pid"], MOTO_LAUNCHER)
        raise
    partial = state_path.with_name(state_path.name + ".partial")
    partial.write_text(json.dumps(state, indent=2) + "\n")
    partial.replace(state_path)
    return state


def stop(state_path: str | os.PathLike) -> None:
    """Ends the rig's servers and removes the state file; nothing to do when there is none."""
    state_path = Path(state_path)
    if not state_path.exists():
        return
    state = read_state(state_path)
    for name, module in (("cloudtrail", CLOUDTRAIL_FAKE), ("moto", MOTO_LAUNCHER)):
        if state.get(name):
            _terminate(state[name]["pid"], module)
    state_path.unlink()


@dataclass
class FixtureContext:
    """What a fixture of fixtures.py works with, so that it needs no import of this module."""

    state: dict

    def client(self, service: str):
        """A boto3 client signed as rig-admin."""
        return client(self.state, service)

    def add_cloudtrail_key(self, access_key_id: str, secret: str, allow: list[str] | None = None) -> None:
        add_cloudtrail_key(self.state, access_key_id, secret, allow)

    def cloudtrail_admin(self, method: str, route: str, body=None):
        return cloudtrail_admin(self.state, method, route, body)


def call(state_path: str | os.PathLike, fixture_name: str, **kwargs):
    """Runs a fixture of fixtures.py against the rig, as rig-admin; returns its JSON-able result."""
    from rig import fixtures

    if fixture_name not in fixtures.FIXTURES:
        raise ValueError(f"no fixture {fixture_name!r}; there are: {', '.join(sorted(fixtures.FIXTURES))}")
    return fixtures.FIXTURES[fixture_name](FixtureContext(read_state(state_path)), **kwargs)


def env_lines(state: dict) -> list[str]:
    """Shell lines that point the AWS SDKs and the project's functions at the rig, as rig-admin."""
    variables = {
        "AWS_ENDPOINT_URL": state["moto"]["url"],
        "AWS_REGION": state["region"],
        "AWS_DEFAULT_REGION": state["region"],
        "AWS_ACCESS_KEY_ID": state["admin"]["accessKeyId"],
        "AWS_SECRET_ACCESS_KEY": state["admin"]["secretAccessKey"],
    }
    if state["cloudtrail"]:
        variables["AWS_ENDPOINT_URL_CLOUDTRAIL"] = state["cloudtrail"]["url"]
    return [f"export {name}={shlex.quote(value)}" for name, value in variables.items()]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("start", "stop", "env", "call"):
        command = commands.add_parser(name)
        command.add_argument("--state", required=True, type=Path, help="the rig's state file")
        if name == "start":
            command.add_argument("--host", default="127.0.0.1", help="a loopback IP address")
        if name == "call":
            command.add_argument("fixture")
            command.add_argument("--args", default="{}", help="the fixture's keyword arguments, as a JSON object")
    args = parser.parse_args(argv)
    try:
        if args.command == "start":
            print(json.dumps(start(args.state, args.host), indent=2))
        elif args.command == "stop":
            stop(args.state)
        elif args.command == "env":
            print("\n".join(env_lines(read_state(args.state))))
        else:
            print(json.dumps(call(args.state, args.fixture, **json.loads(args.args)), indent=2))
    except (OSError, ValueError, RuntimeError, ClientError) as error:
        sys.exit(f"rig {args.command}: {error}")
