"""The stand-in's VM emulator: EC2 instances run their user-data as local processes, each on a
loopback address of its own with an instance metadata service; stopping or terminating an
instance ends its processes; capacity errors and spot interruptions are injected for tests."""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from mlform_aws.standin import StandIn
from mlform_aws.vmemu import Vm, loopback_address

T = TypeVar("T")


def eventually(probe: Callable[[], T | None], timeout: float = 15.0, what: str = "") -> T:
    """Poll `probe` until it returns something truthy (no fixed sleeps)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            found = probe()
        except (OSError, urllib.error.URLError):
            found = None
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or probe}")
        time.sleep(0.05)


def gone(pid: int) -> bool:
    """No such process, or only a zombie waiting for its parent to reap it."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        return False
    return stat[stat.rfind(")") + 2 :].split()[0] == "Z"


def get(url: str, headers: dict[str, str] | None = None, method: str = "GET") -> str:
    req = urllib.request.Request(url, headers=headers or {}, method=method)
    with urllib.request.urlopen(req, timeout=5) as resp:
        return resp.read().decode()


def status_of(url: str, headers: dict[str, str] | None = None, method: str = "GET") -> int:
    try:
        get(url, headers, method)
    except urllib.error.HTTPError as exc:
        return exc.code
    return 200


@pytest.fixture
def ec2(standin: StandIn) -> Iterator[Any]:
    """An EC2 client on the stand-in that tries once (a capacity error is a 5xx, which
    botocore would otherwise retry); every instance still running at the end is terminated."""
    import boto3
    from botocore.config import Config

    client = boto3.client(
        "ec2",
        endpoint_url=standin.endpoint,
        region_name=standin.region,
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}),
    )
    yield client
    standin.clear_faults()
    ids = [
        i["InstanceId"]
        for r in client.describe_instances()["Reservations"]
        for i in r["Instances"]
        if i["State"]["Name"] not in ("terminated", "shutting-down")
    ]
    if ids:
        client.terminate_instances(InstanceIds=ids)


def run(ec2: Any, user_data: str, **kw: Any) -> str:
    kw.setdefault("InstanceType", "t3.micro")
    out = ec2.run_instances(
        ImageId="ami-12345678", MinCount=1, MaxCount=1, UserData=user_data, **kw
    )
    return str(out["Instances"][0]["InstanceId"])


def booted(standin: StandIn, iid: str) -> Vm:
    assert standin.vms is not None
    vms = standin.vms
    return eventually(lambda: vms.get(iid), what=f"{iid} to boot")


def state(ec2: Any, iid: str) -> str:
    found = ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]
    return str(found["State"]["Name"])


SERVER = """#!/bin/bash
echo "booting on $MLFORM_STANDIN_PRIVATE_IP"
echo written > marker
env > env.txt
python3 - <<'PY'
import os, urllib.request
imds = os.environ["MLFORM_IMDS_URL"]
put = urllib.request.Request(imds + "/latest/api/token", method="PUT",
                             headers={"X-aws-ec2-metadata-token-ttl-seconds": "60"})
token = urllib.request.urlopen(put).read().decode()
got = urllib.request.Request(imds + "/latest/meta-data/instance-id",
                             headers={"X-aws-ec2-metadata-token": token})
open("imds-instance-id", "w").write(urllib.request.urlopen(got).read().decode())
PY
python3 -m http.server 8000 --bind "$MLFORM_STANDIN_PRIVATE_IP" --directory . &
echo $! > server.pid
echo "started the server"
"""


def test_user_data_runs_on_the_instances_address_and_ends_with_the_instance(
    standin: StandIn, ec2: Any
) -> None:
    iid = run(ec2, SERVER)
    vm = booted(standin, iid)
    assert vm.address == loopback_address(iid) or vm.address.startswith("127.77.")
    assert vm.disk.is_relative_to(standin.state_dir or "/nonexistent")

    marker = eventually(lambda: (vm.disk / "marker").is_file() and vm.disk / "marker")
    assert marker.read_text() == "written\n"
    # The server binds the instance's own address, and answers there.
    page = eventually(lambda: get(f"http://{vm.address}:8000/marker"), what="the server")
    assert page == "written\n"
    # The instance asked its IMDS (IMDSv2) for its id.
    answer = eventually(lambda: (vm.disk / "imds-instance-id").is_file() and vm.disk)
    assert (answer / "imds-instance-id").read_text() == iid
    env = dict(
        line.split("=", 1) for line in (vm.disk / "env.txt").read_text().splitlines() if "=" in line
    )
    assert env["AWS_ENDPOINT_URL"] == standin.endpoint
    assert env["AWS_REGION"] == standin.region
    assert env["AWS_ACCESS_KEY_ID"] == "testing"
    assert env["MLFORM_STANDIN_PRIVATE_IP"] == vm.address
    assert env["AWS_EC2_METADATA_SERVICE_ENDPOINT"] == env["MLFORM_IMDS_URL"]
    assert "AWS_EC2_METADATA_DISABLED" not in env

    # The script ended; the instance is still running, and so is what it started.
    eventually(lambda: vm.exit_code is not None, what="the script to end")
    assert vm.exit_code == 0 and state(ec2, iid) == "running"
    pid = int((vm.disk / "server.pid").read_text())
    assert not gone(pid)

    console = ec2.get_console_output(InstanceId=iid)["Output"]
    assert f"booting on {vm.address}" in console and "started the server" in console

    ec2.terminate_instances(InstanceIds=[iid])
    eventually(lambda: gone(pid), what="the server to be ended")
    with pytest.raises(OSError):
        get(f"http://{vm.address}:8000/marker")


def test_imds_answers_what_an_instance_asks(
    standin: StandIn, ec2: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    iid = run(ec2, "#!/bin/bash\nexec sleep 300\n", InstanceType="g5.xlarge")
    vm = booted(standin, iid)
    assert vm.imds is not None
    md = vm.imds.url + "/latest/meta-data/"
    assert get(md + "instance-id") == iid
    assert get(md + "local-ipv4") == vm.address
    assert get(md + "placement/region") == standin.region
    assert get(md + "instance-type") == "g5.xlarge"
    assert status_of(md + "spot/instance-action") == 404

    token_url = vm.imds.url + "/latest/api/token"
    assert status_of(token_url, method="PUT") == 400  # the TTL header is required
    token = get(token_url, {"X-aws-ec2-metadata-token-ttl-seconds": "30"}, method="PUT")
    assert get(md + "instance-id", {"X-aws-ec2-metadata-token": token}) == iid
    assert status_of(md + "instance-id", {"X-aws-ec2-metadata-token": "forged"}) == 401
    assert "#!/bin/bash" in get(vm.imds.url + "/latest/user-data")

    # botocore finds the IMDS through AWS_EC2_METADATA_SERVICE_ENDPOINT, as on an instance.
    from botocore.session import Session
    from botocore.utils import IMDSRegionProvider

    monkeypatch.setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", vm.imds.url)
    monkeypatch.delenv("AWS_EC2_METADATA_DISABLED", raising=False)
    assert IMDSRegionProvider(Session()).provide() == standin.region


def test_stopping_an_instance_ends_its_processes(standin: StandIn, ec2: Any) -> None:
    iid = run(ec2, "#!/bin/bash\necho $$ > script.pid\nexec sleep 300\n")
    vm = booted(standin, iid)
    pid = int(eventually(lambda: (vm.disk / "script.pid").read_text().strip(), what="the pid"))
    assert not gone(pid)
    ec2.stop_instances(InstanceIds=[iid])
    eventually(lambda: gone(pid), what="the script to be ended")
    assert eventually(lambda: vm.exit_code is not None) and vm.exit_code == -15  # SIGTERM


def test_capacity_errors_are_injected_for_types_and_zones(standin: StandIn, ec2: Any) -> None:
    from botocore.exceptions import ClientError

    standin.capacity_error(instance_types=["p4d.24xlarge"], zones=["us-east-1a"])
    with pytest.raises(ClientError) as refused:
        run(ec2, "", InstanceType="p4d.24xlarge", Placement={"AvailabilityZone": "us-east-1a"})
    assert refused.value.response["Error"]["Code"] == "InsufficientInstanceCapacity"
    assert "p4d.24xlarge" in refused.value.response["Error"]["Message"]
    # Another zone, another type: launched.
    run(ec2, "", InstanceType="p4d.24xlarge", Placement={"AvailabilityZone": "us-east-1b"})
    run(ec2, "", InstanceType="t3.micro", Placement={"AvailabilityZone": "us-east-1a"})

    # Through a launch template and a subnet, as the cluster kind launches.
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.9.1.0/24", AvailabilityZone="us-east-1a")
    template = ec2.create_launch_template(
        LaunchTemplateName=f"lt-{os.getpid()}",
        LaunchTemplateData={"ImageId": "ami-12345678", "InstanceType": "p4d.24xlarge"},
    )["LaunchTemplate"]["LaunchTemplateId"]
    with pytest.raises(ClientError, match="InsufficientInstanceCapacity"):
        ec2.run_instances(
            MinCount=1,
            MaxCount=1,
            LaunchTemplate={"LaunchTemplateId": template},
            SubnetId=subnet["Subnet"]["SubnetId"],
        )

    # Through the admin endpoint, for spot only, once.
    standin.clear_faults()
    req = urllib.request.Request(
        standin.endpoint + "/_mlform/capacity-errors",
        data=json.dumps({"market": "spot", "times": 1}).encode(),
        method="POST",
    )
    assert json.loads(urllib.request.urlopen(req).read())["market"] == "spot"
    spot = {"MarketType": "spot"}
    with pytest.raises(ClientError, match="InsufficientInstanceCapacity"):
        run(ec2, "", InstanceMarketOptions=spot)
    run(ec2, "", InstanceMarketOptions=spot)  # the one time is used up
    assert json.loads(get(standin.endpoint + "/_mlform/capacity-errors"))[0]["times"] == 0


def test_a_spot_interruption_warns_then_terminates(standin: StandIn, ec2: Any) -> None:
    iid = run(ec2, "#!/bin/bash\necho $$ > script.pid\nexec sleep 300\n")
    vm = booted(standin, iid)
    pid = int(eventually(lambda: (vm.disk / "script.pid").read_text().strip(), what="the pid"))
    assert vm.imds is not None
    action_url = vm.imds.url + "/latest/meta-data/spot/instance-action"

    req = urllib.request.Request(
        standin.endpoint + "/_mlform/spot-interruptions",
        data=json.dumps({"instance_id": iid, "after": 1.5}).encode(),
        method="POST",
    )
    notice = json.loads(urllib.request.urlopen(req).read())
    assert notice["action"] == "terminate"
    action = json.loads(get(action_url))
    assert action == {"action": "terminate", "time": notice["time"]}
    assert state(ec2, iid) == "running"  # warned, not yet gone

    eventually(lambda: state(ec2, iid) == "terminated", what="the instance to be terminated")
    eventually(lambda: gone(pid), what="its processes to be ended")
    with pytest.raises(LookupError):
        standin.interrupt_spot(iid, after=1)


def test_console_script_can_run_without_vms() -> None:
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-m", "mlform_aws.standin", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "--no-vms" in out.stdout and "/_mlform/" in out.stdout
    bare = StandIn(vms=False).start()
    try:
        assert bare.vms is None and bare.state_dir is None
    finally:
        bare.stop()
