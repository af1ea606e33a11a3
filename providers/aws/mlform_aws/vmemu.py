"""The stand-in's VM emulator: EC2 instances that really run their user-data, as local
processes.

It watches the stand-in's EC2 through its endpoint, as any client would (DescribeInstances
every half second, in every region where EC2 or Auto Scaling was called), and for each
instance it sees `running` (moto marks RunInstances' instances running at once):

- gives it a loopback address of its own, 127.77.x.y, derived from the instance id (Linux
  routes all of 127.0.0.0/8 to the loopback interface): a server on the instance binds to it;
- makes its "disk", a folder under the stand-in's state folder (`instances/<id>/disk`);
- starts its instance metadata service (`mlform_aws.imds`) on that address;
- runs its user-data (DescribeInstanceAttribute userData) if it is a script: `#!/bin/bash` and
  `#!/bin/sh` with bash, any other `#!` as an executable; anything else (`#cloud-config`) is
  not run, as cloud-init would not run it as a script. The script runs in a process group of
  its own, in the disk folder, with the host's environment less its `AWS_*` and `MLFORM_*`
  variables, plus: `AWS_ENDPOINT_URL` (the stand-in), the stand-in's credentials,
  `AWS_REGION`/`AWS_DEFAULT_REGION` (the instance's region),
  `AWS_EC2_METADATA_SERVICE_ENDPOINT` and `MLFORM_IMDS_URL` (its IMDS),
  `MLFORM_STANDIN_PRIVATE_IP` (its loopback address), `MLFORM_STANDIN_INSTANCE_ID`;
- sends the script's standard output and error to `instances/<id>/console.log`, which the
  stand-in serves as the instance's GetConsoleOutput.

When the script exits, the instance stays running (a VM whose boot script ended). When the
instance is stopped or terminated, its process group gets SIGTERM, then SIGKILL after a grace
period. User-data runs once per instance, at its first boot (as cloud-init's scripts-user does):
an instance stopped and started again runs nothing.

A spot interruption (`interrupt_spot`) makes IMDS's spot/instance-action answer the time of the
action, and the instance is terminated (or stopped) through EC2 at that time.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mlform_aws.imds import Imds, InstanceFacts

__all__ = ["Vm", "VmEmulator", "loopback_address"]

log = logging.getLogger("mlform.standin.vms")

POLL_SECONDS = 0.5
GRACE_SECONDS = 5.0
_HALTED = {"stopping", "stopped", "shutting-down", "terminated"}
_SLOTS = 254 * 254


def loopback_address(instance_id: str, taken: set[str] | frozenset[str] = frozenset()) -> str:
    """127.77.x.y for an instance: derived from its id; the next free one if that is taken."""
    first = int.from_bytes(hashlib.sha256(instance_id.encode()).digest()[:4], "big") % _SLOTS
    for i in range(_SLOTS):
        k = (first + i) % _SLOTS
        address = f"127.77.{k // 254 + 1}.{k % 254 + 1}"
        if address not in taken:
            return address
    raise RuntimeError("no loopback address left for another instance")


@dataclass
class Vm:
    """One emulated instance."""

    instance_id: str
    region: str
    address: str
    folder: Path
    state: str = "running"
    imds: Imds | None = None
    proc: subprocess.Popen[bytes] | None = None
    exit_code: int | None = None
    ran: str = ""  # how its user-data was run ("bash", "exec", "" when nothing ran)
    facts: InstanceFacts | None = None
    timers: list[threading.Timer] = field(default_factory=list)

    @property
    def disk(self) -> Path:
        return self.folder / "disk"

    @property
    def console_log(self) -> Path:
        return self.folder / "console.log"

    def describe(self) -> dict[str, Any]:
        return {
            "instance_id": self.instance_id,
            "region": self.region,
            "state": self.state,
            "address": self.address,
            "disk": str(self.disk),
            "console_log": str(self.console_log),
            "imds": self.imds.url if self.imds else None,
            "pid": self.proc.pid if self.proc else None,
            "exit_code": self.exit_code,
            "spot_instance_action": self.facts.instance_action if self.facts else None,
        }


class VmEmulator:
    """`VmEmulator(endpoint, region, credentials, root).start()`; `stop()` ends every instance's
    processes. `watch_region` adds a region to poll (the stand-in adds each region EC2 or Auto
    Scaling is called in)."""

    def __init__(
        self,
        endpoint: str,
        region: str,
        credentials: dict[str, str],
        root: Path,
        poll: float = POLL_SECONDS,
        grace: float = GRACE_SECONDS,
    ):
        self.endpoint = endpoint
        self.credentials = dict(credentials)
        self.root = Path(root)
        self.poll = poll
        self.grace = grace
        self._regions: set[str] = {region}
        self._vms: dict[str, Vm] = {}
        self._lock = threading.RLock()
        self._clients: dict[str, Any] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._halting: set[str] = set()

    # Life.

    def start(self) -> VmEmulator:
        (self.root / "instances").mkdir(parents=True, exist_ok=True)
        self._thread = threading.Thread(target=self._run, name="mlform-standin-vms", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        with self._lock:
            vms = list(self._vms.values())
        halts = [threading.Thread(target=self._halt, args=(vm, "terminated")) for vm in vms]
        for t in halts:
            t.start()
        for t in halts:
            t.join()

    def watch_region(self, region: str) -> None:
        with self._lock:
            self._regions.add(region)

    # What the stand-in and tests ask.

    def get(self, instance_id: str) -> Vm | None:
        with self._lock:
            return self._vms.get(instance_id)

    def instances(self) -> list[dict[str, Any]]:
        with self._lock:
            return [vm.describe() for vm in self._vms.values()]

    def console_output(self, instance_id: str, limit: int = 64 * 1024) -> str | None:
        """The last `limit` bytes of the instance's console (as EC2 keeps the last 64 KiB);
        None for an instance the emulator never ran."""
        vm = self.get(instance_id)
        if vm is None:
            return None
        try:
            with vm.console_log.open("rb") as f:
                size = f.seek(0, os.SEEK_END)
                f.seek(max(0, size - limit))
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def interrupt_spot(
        self, instance_id: str, after: float = 120.0, action: str = "terminate"
    ) -> dict[str, str]:
        """A spot interruption: IMDS's spot/instance-action says `action` at now + `after`
        seconds, and at that time the instance is terminated (or stopped, or hibernated: here
        stopped). Raises LookupError for an instance the emulator does not run."""
        if action not in ("terminate", "stop", "hibernate"):
            raise ValueError(f"action must be terminate, stop or hibernate, not {action!r}")
        vm = self.get(instance_id)
        if vm is None or vm.facts is None or vm.state in _HALTED:
            raise LookupError(f"instance {instance_id} is not running under the VM emulator")
        when = datetime.fromtimestamp(time.time() + after, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        notice = {"action": action, "time": when}
        vm.facts.instance_action = notice
        timer = threading.Timer(after, self._interrupt, args=(vm, action))
        timer.daemon = True
        vm.timers.append(timer)
        timer.start()
        self._console(vm, f"spot interruption: {action} at {when}")
        return notice

    # The watcher.

    def _client(self, region: str) -> Any:
        client = self._clients.get(region)
        if client is None:
            import boto3

            client = boto3.client(
                "ec2",
                endpoint_url=self.endpoint,
                region_name=region,
                aws_access_key_id=self.credentials.get("AWS_ACCESS_KEY_ID", "testing"),
                aws_secret_access_key=self.credentials.get("AWS_SECRET_ACCESS_KEY", "testing"),
                aws_session_token=self.credentials.get("AWS_SESSION_TOKEN"),
            )
            self._clients[region] = client
        return client

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._tick()
            except Exception:  # the stand-in stopping, a moto hiccup: try again next tick
                log.debug("VM emulator tick failed", exc_info=True)
            self._stop.wait(self.poll)

    def _tick(self) -> None:
        with self._lock:
            regions = sorted(self._regions)
        for region in regions:
            pages = self._client(region).get_paginator("describe_instances").paginate()
            for page in pages:
                for reservation in page.get("Reservations", []):
                    for inst in reservation.get("Instances", []):
                        self._see(region, inst)
        with self._lock:
            vms = list(self._vms.values())
        for vm in vms:
            if vm.proc is not None and vm.exit_code is None:
                code = vm.proc.poll()
                if code is not None:
                    vm.exit_code = code
                    self._console(vm, f"user-data exited with status {code}")

    def _see(self, region: str, inst: dict[str, Any]) -> None:
        iid = inst["InstanceId"]
        state = inst.get("State", {}).get("Name", "")
        vm = self.get(iid)
        if vm is None:
            if state == "running" and not self._stop.is_set():
                self._boot(region, inst)
            return
        if state == vm.state:
            return
        vm.state = state
        if state in _HALTED and iid not in self._halting:
            self._halting.add(iid)
            threading.Thread(target=self._halt, args=(vm, state), daemon=True).start()
        elif state == "running":
            self._halting.discard(iid)
            self._console(vm, "started again; user-data runs only at the first boot")

    # One instance.

    def _boot(self, region: str, inst: dict[str, Any]) -> None:
        iid = inst["InstanceId"]
        attr = self._client(region).describe_instance_attribute(
            InstanceId=iid, Attribute="userData"
        )
        encoded = (attr.get("UserData") or {}).get("Value") or ""
        user_data = base64.b64decode(encoded) if encoded else b""
        with self._lock:
            taken = {vm.address for vm in self._vms.values() if vm.state != "terminated"}
            vm = Vm(iid, region, loopback_address(iid, taken), self.root / "instances" / iid)
            self._vms[iid] = vm
        vm.disk.mkdir(parents=True, exist_ok=True)
        facts = InstanceFacts(
            instance_id=iid,
            address=vm.address,
            region=region,
            zone=inst.get("Placement", {}).get("AvailabilityZone", f"{region}a"),
            instance_type=inst.get("InstanceType", ""),
            image_id=inst.get("ImageId", ""),
            user_data=user_data,
            credentials=self.credentials,
        )
        vm.facts = facts
        try:
            vm.imds = Imds(facts).start()
        except OSError as exc:  # 127.77.x.y not routed to loopback (not Linux)
            self._console(vm, f"cannot listen on {vm.address} ({exc}); using 127.0.0.1")
            vm.address = facts.address = "127.0.0.1"
            vm.imds = Imds(facts).start()
        self._console(vm, f"booted {iid} ({facts.instance_type}) at {vm.address}")
        (vm.folder / "user-data").write_bytes(user_data)
        argv = self._command(vm, user_data)
        if argv is None:
            return
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MLFORM_"))}
        env.update(self.credentials)
        env.update(
            {
                "AWS_ENDPOINT_URL": self.endpoint,
                "AWS_REGION": region,
                "AWS_DEFAULT_REGION": region,
                "AWS_EC2_METADATA_SERVICE_ENDPOINT": vm.imds.url,
                "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE": "IPv4",
                "MLFORM_IMDS_URL": vm.imds.url,
                "MLFORM_STANDIN_PRIVATE_IP": vm.address,
                "MLFORM_STANDIN_INSTANCE_ID": iid,
            }
        )
        with vm.console_log.open("ab") as out:
            vm.proc = subprocess.Popen(
                argv,
                cwd=vm.disk,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def _command(self, vm: Vm, user_data: bytes) -> list[str] | None:
        if not user_data.startswith(b"#!"):
            what = "no user-data" if not user_data else "user-data is not a script"
            self._console(vm, f"{what}; nothing to run")
            return None
        script = vm.folder / "user-data"
        script.chmod(0o755)
        shebang = user_data.split(b"\n", 1)[0][2:].strip().split()
        if shebang and shebang[0] in (b"/bin/bash", b"/bin/sh", b"/usr/bin/bash"):
            vm.ran = "bash"
            return ["bash", str(script)]
        vm.ran = "exec"
        return [str(script)]

    def _interrupt(self, vm: Vm, action: str) -> None:
        if self._stop.is_set() or vm.state in _HALTED:
            return
        client = self._client(vm.region)
        if action == "terminate":
            client.terminate_instances(InstanceIds=[vm.instance_id])
        else:
            client.stop_instances(InstanceIds=[vm.instance_id])

    def _halt(self, vm: Vm, state: str) -> None:
        """End the instance's processes: SIGTERM to its process group, SIGKILL after the
        grace period. The group is signalled even when the script itself has exited: what it
        started in the background still runs."""
        for t in vm.timers:
            t.cancel()
        proc = vm.proc
        if proc is not None:
            pgid = proc.pid
            if _signal_group(pgid, signal.SIGTERM):
                deadline = time.monotonic() + self.grace
                while time.monotonic() < deadline and _group_alive(pgid, proc):
                    time.sleep(0.05)
                if _group_alive(pgid, proc):
                    _signal_group(pgid, signal.SIGKILL)
            try:
                code = proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                code = None
            if vm.exit_code is None and code is not None:
                vm.exit_code = code
        self._console(vm, f"instance {state}; its processes are ended")
        if state == "terminated" and vm.imds is not None:
            vm.imds.stop()
            vm.imds = None

    def _console(self, vm: Vm, line: str) -> None:
        vm.folder.mkdir(parents=True, exist_ok=True)
        with vm.console_log.open("a", encoding="utf-8") as f:
            f.write(f"[mlform-standin] {line}\n")


def _signal_group(pgid: int, sig: int) -> bool:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - not ours any more
        return False
    return True


def _group_alive(pgid: int, leader: subprocess.Popen[bytes]) -> bool:
    leader.poll()  # reap the leader when it is gone, so it does not count as alive
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return _has_live_member(pgid)


def _has_live_member(pgid: int) -> bool:
    """Whether the group has a member that is not a zombie (a zombie waits for its parent to
    reap it; where /proc cannot tell, any member counts)."""
    proc = Path("/proc")
    if not proc.is_dir():
        return True
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid pgrp ...; comm may hold spaces and parentheses.
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) > 2 and fields[2] == str(pgid) and fields[0] != "Z":
            return True
    return False
