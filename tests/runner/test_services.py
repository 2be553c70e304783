"""``ServiceStep``: a registered model version deployed as a real HTTP inference process,
supervised by the worker — on a real server, Temporal dev server and worker, SQLite and
PostgreSQL. One walk through a service's life (deploy on the delayed input, predict, swap
under load, worker restarts, delete), and a taken port."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

import sdk as wf
from tests.runner.conftest import Runtime
from tests.runner.flows import imported, start
from tests.support.cli import shell_for
from tests.support.runner import start_worker, step, step_is, wait_for
from tests.support.web import web_user

TRAIN = '''
"""Writes a model whose predict.py multiplies each input by --factor (0: no predict.py)."""
import argparse, pathlib

parser = argparse.ArgumentParser()
parser.add_argument("--out")
parser.add_argument("--factor", type=int)
args = parser.parse_args()
out = pathlib.Path(args.out)
out.mkdir(parents=True, exist_ok=True)
if args.factor == 0:
    (out / "weights.txt").write_text("not a model")
    raise SystemExit(0)
(out / "predict.py").write_text(
    "import os\\n"
    "FACTOR = %d\\n"
    "def predict(inputs):\\n"
    "    return [os.environ.get(x[4:], '') if isinstance(x, str) and x[:4] == 'env:'\\n"
    "            else x * FACTOR for x in inputs]\\n" % args.factor
)
'''


@pytest.fixture
def client(runtime: Runtime) -> httpx.Client:
    return runtime.gallery.user()


def train_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "train"
    folder.mkdir(exist_ok=True)
    (folder / "train.py").write_text(textwrap.dedent(TRAIN))
    return folder


def deploying(code: Path, service_name: str = "svc") -> wf.Workflow:
    """train (a predict.py) → register (model ``served``) → deploy (service ``svc``, on the
    model version the user picks when the step waits)."""
    out = wf.data.OutputStorage(name="out")
    factor = wf.Placeholder(name="factor", placeholder_type=wf.PlaceholderType.INT, default=2)
    model_name = wf.Placeholder(
        name="model_name", placeholder_type=wf.PlaceholderType.STR, default="served"
    )
    train = wf.steps.JobStep(
        name="train",
        algorithm=wf.BaseAlgorithm(
            name="train",
            code_dir=code,
            boot_file="train.py",
            parameters=[wf.AlgorithmParameters(name="factor", value=factor)],
        ),
        outputs=[
            wf.steps.JobOutput(name="out", obs_config=wf.data.OBSOutputConfig(out.join("model/")))
        ],
    )
    register = wf.steps.ModelStep(
        name="register",
        inputs=wf.steps.ModelInput(name="model_input", data=train.outputs["out"].as_input()),
        outputs=wf.steps.ModelOutput(
            name="model_output", model_config=wf.steps.ModelConfig(model_name=model_name)
        ),
        depend_steps=train,
    )
    deploy = wf.steps.ServiceStep(
        name="deploy",
        inputs=wf.steps.ServiceInput(
            name="service_input",
            data=wf.data.ServiceInputPlaceholder(name="service_input", model_name=model_name),
        ),
        outputs=wf.steps.ServiceOutput(
            name="service", service_config=wf.steps.ServiceConfig(service_name=service_name)
        ),
        depend_steps=register,
    )
    return wf.Workflow(name="deploying", desc="", steps=[train, register, deploy], storages=[out])


def run_to_service(
    client: httpx.Client,
    workflow_id: str,
    factor: int,
    ends: str = "succeeded",
    pick: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A run that trains, registers and deploys the version it registered (``pick``: what
    the user picks instead)."""
    execution = start(client, workflow_id, parameters={"factor": factor})
    waiting = wait_for(client, execution["id"], step_is("deploy", "waiting_input", "failed"))
    assert step(waiting, "deploy")["status"] == "waiting_input", waiting
    assert [w["name"] for w in step(waiting, "deploy")["waiting_for"]] == ["service_input"]
    version = step(waiting, "register")["outputs"]["model_output"].split("@")[1]
    answer = client.post(
        f"/executions/{execution['id']}/steps/deploy/continue",
        json={
            "inputs": {
                "service_input": [pick or {"model_name": "served", "model_version": version}]
            }
        },
    )
    assert answer.status_code == 200, answer.text
    done = wait_for(client, execution["id"])
    assert done["status"] == ends, done
    return done


def processes_of(service_id: str) -> list[int]:
    """Processes on this machine whose command line names the service."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                line = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            state = (entry / "stat").read_text().rsplit(")", 1)[-1].split()[0] if line else "Z"
            if service_id.encode() in line and state != "Z":
                found.append(int(entry.name))
    return found


def below(pids: list[int]) -> list[int]:
    """These processes and all their descendants."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int(
                    (entry / "stat").read_text().rsplit(")", 1)[-1].split()[1]
                )
            except (OSError, ValueError, IndexError):
                continue
    found, todo = set(pids), list(pids)
    while todo:
        current = todo.pop()
        for child, parent in parents.items():
            if parent == current and child not in found:
                found.add(child)
                todo.append(child)
    return sorted(found)


def uid_of(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("Uid:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def wait_until(check: Any, what: str, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout}s")
        time.sleep(0.1)


def predict(endpoint: str, inputs: list[Any]) -> dict[str, Any]:
    answer = httpx.post(f"{endpoint}/predict", json={"inputs": inputs}, timeout=10)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def restart_worker(runtime: Runtime, *, kill_services: list[int] | None = None) -> None:
    """The worker dies (SIGKILL: no clean-up) and a new one starts in its place (the
    fixture stops that one at the end)."""
    runtime.worker.kill()
    for pid in kill_services or []:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    fresh = start_worker(runtime.worker.settings)
    runtime.worker.process, runtime.worker.log = fresh.process, fresh.log


def test_a_model_version_is_served_swapped_supervised_and_deleted(
    runtime: Runtime, client: httpx.Client, tmp_path: Path
) -> None:
    workflow_id = imported(client, deploying(train_dir(tmp_path)))
    first = run_to_service(client, workflow_id, factor=2)
    endpoint = step(first, "deploy")["outputs"]["service"]
    assert endpoint.startswith("http://127.0.0.1:")
    pin = step(first, "register")["outputs"]["model_output"]

    # curl to the endpoint
    assert predict(endpoint, [1, 2, 3]) == {"outputs": [2, 4, 6], "model": pin}
    bad = httpx.post(f"{endpoint}/predict", json={"input": 1})
    assert bad.status_code == 400 and "inputs" in bad.json()["detail"]

    # the record, and predictions through the registry
    [listed] = client.get("/workspaces/default/services").json()
    service_id = listed["id"]
    assert (listed["name"], listed["status"], listed["endpoint"], listed["model"]) == (
        "svc",
        "running",
        endpoint,
        pin,
    )
    assert listed["note"] == "started" and "secret" not in listed
    assert client.get(f"/services/{service_id}").json()["execution_id"] == first["id"]
    through = client.post(f"/services/{service_id}/predict", json={"inputs": [5]})
    assert through.status_code == 200 and through.json()["outputs"] == [10], through.text
    refused = client.post(f"/services/{service_id}/predict", json={"inputs": [{}]})
    assert refused.status_code == 400 and "refused these inputs" in refused.json()["detail"]
    assert client.post(f"/services/{service_id}/predict", json={}).status_code in (400, 422)

    # nobody else's
    other = runtime.gallery.user()
    assert other.get(f"/services/{service_id}").status_code == 404
    assert other.post(f"/services/{service_id}/predict", json={"inputs": [1]}).status_code == 404
    assert other.delete(f"/services/{service_id}").status_code == 404
    assert other.get("/workspaces/default/services").json() == []
    assert client.get("/services/not-an-id").status_code == 404

    # the same service name deploys the next version into the running process, under load
    failures: list[str] = []
    seen: set[str] = set()
    stop = threading.Event()

    def hammer() -> None:
        with httpx.Client(timeout=10) as http:
            while not stop.is_set():
                try:
                    answer = http.post(f"{endpoint}/predict", json={"inputs": [1]})
                    if answer.status_code != 200:
                        failures.append(f"{answer.status_code} {answer.text}")
                    else:
                        seen.add(answer.json()["model"])
                except httpx.HTTPError as exc:
                    failures.append(repr(exc))

    thread = threading.Thread(target=hammer)
    thread.start()
    try:
        second = run_to_service(client, workflow_id, factor=3)
        new_pin = step(second, "register")["outputs"]["model_output"]
        wait_until(lambda: new_pin in seen, "requests reach the new model", 10)
    finally:
        stop.set()
        thread.join()
    assert failures == []
    assert seen == {pin, new_pin}
    assert step(second, "deploy")["outputs"]["service"] == endpoint  # the port stays
    assert predict(endpoint, [1, 2]) == {"outputs": [3, 6], "model": new_pin}
    assert client.get(f"/services/{service_id}").json()["model"] == new_pin

    # stopping a run leaves the service running
    third = start(client, workflow_id, parameters={"factor": 4})
    wait_for(client, third["id"], step_is("deploy", "waiting_input"))
    assert client.post(f"/executions/{third['id']}/stop").status_code == 200
    assert wait_for(client, third["id"])["status"] == "stopped"
    assert predict(endpoint, [1])["outputs"] == [3]

    # a worker restart: the live service is re-adopted …
    [pid] = processes_of(service_id)[:1]
    restart_worker(runtime)
    read = wait_until(
        lambda: (
            (r := client.get(f"/services/{service_id}").json())["note"]
            == "re-adopted after a worker restart"
            and r
        ),
        "re-adopted",
    )
    assert read["status"] == "running" and pid in processes_of(service_id)
    assert predict(endpoint, [2])["outputs"] == [6]
    # … with its sandbox uid claimed again: no step can be given it (root workers)
    uids = {uid_of(p) for p in below(processes_of(service_id))} - {None, os.getuid()}
    assert uids or os.geteuid() != 0  # a root worker runs it under a uid of its own
    for uid in uids:
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        with pytest.raises(OSError):
            probe.bind(f"\0gallery-sandbox-uid-{uid}")
        probe.close()
    # … and one whose process died with it is started again, on its port
    restart_worker(runtime, kill_services=processes_of(service_id))
    read = wait_until(
        lambda: (
            (r := client.get(f"/services/{service_id}").json())["note"]
            == "restarted after a worker restart"
            and r
        ),
        "restarted",
    )
    assert read["status"] == "running" and read["endpoint"] == endpoint
    assert predict(endpoint, [2]) == {"outputs": [6], "model": new_pin}

    # deleting the service ends its process and removes its files
    folder = runtime.worker.settings.data_dir / "services" / service_id
    assert folder.is_dir()
    answer = client.delete(f"/services/{service_id}")
    assert answer.status_code == 202 and answer.json()["status"] == "deleting"
    wait_until(lambda: client.get(f"/services/{service_id}").status_code == 404, "deleted")
    assert processes_of(service_id) == []
    assert not folder.exists()
    with pytest.raises(httpx.ConnectError):
        httpx.post(f"{endpoint}/predict", json={"inputs": [1]})


def test_a_taken_port_fails_the_step_the_page_and_the_cli(
    runtime: Runtime,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    web = web_user(runtime.gallery)
    client = web.api
    workflow_id = imported(client, deploying(train_dir(tmp_path)))
    # the model's name may be left out: the placeholder's model_name is the one served
    done = run_to_service(client, workflow_id, factor=5, pick={"model_version": "1.0.0"})
    pin = step(done, "register")["outputs"]["model_output"]
    content_id, version = pin.split("@")

    # a port already taken: the step fails saying so, and nothing is deployed
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        model = wf.data.GalleryModel(subscription_id=content_id, version_num=version)
        taken = wf.steps.ServiceStep(
            name="deploy",
            inputs=wf.steps.ServiceInput(name="model", data=model),
            outputs=wf.steps.ServiceOutput(
                name="service",
                service_config=wf.steps.ServiceConfig(
                    service_name="on-a-taken-port", additional_properties={"port": port}
                ),
            ),
        )
        other = imported(client, wf.Workflow(name="taken", desc="", steps=[taken]))
        failed = wait_for(client, start(client, other)["id"])
    assert failed["status"] == "failed"
    assert f"port {port} is already taken" in step(failed, "deploy")["error"]
    [listed] = client.get("/workspaces/default/services").json()
    assert listed["name"] == "svc"
    service_id = listed["id"]

    # a version without model files: the swap is refused, the old model goes on serving …
    bad = run_to_service(client, workflow_id, factor=0, ends="failed")
    assert "has no predict.py, model.pkl or model.joblib" in step(bad, "deploy")["error"]
    assert predict(listed["endpoint"], [1]) == {"outputs": [5], "model": pin}
    # … another model than the step's is refused …
    wrong = run_to_service(client, workflow_id, factor=5, ends="failed", pick={"model_name": "x"})
    assert "this step serves model 'served'" in step(wrong, "deploy")["error"]
    # … and as a new service it never starts: the step says why, no process is left
    fresh = imported(client, deploying(train_dir(tmp_path), "fresh"), name="fresh")
    never = run_to_service(client, fresh, factor=0, ends="failed")
    error = step(never, "deploy")["error"]
    assert "service 'fresh': the service process ended" in error
    assert "has no predict.py" in error
    [gone] = [s for s in client.get("/workspaces/default/services").json() if s["name"] == "fresh"]
    assert gone["status"] == "failed" and processes_of(gone["id"]) == []

    # the manual's update mode: a ServiceData input names the service to update
    def updating(service: str) -> str:
        model = wf.data.GalleryModel(subscription_id=content_id, version_num=version)
        update = wf.steps.ServiceStep(
            name="update",
            inputs=[
                wf.steps.ServiceInput(name="model", data=model),
                wf.steps.ServiceInput(name="target", data=wf.data.ServiceData(service)),
            ],
            outputs=wf.steps.ServiceOutput(name="service"),
        )
        flow = wf.Workflow(name=f"update-{service[:8]}", desc="", steps=[update])
        return imported(client, flow, name=f"update-{service[:8]}")

    updated = wait_for(client, start(client, updating(service_id))["id"])
    assert updated["status"] == "succeeded", updated
    assert step(updated, "update")["outputs"]["service"] == listed["endpoint"]
    assert client.get(f"/services/{service_id}").json()["execution_id"] == updated["id"]
    unknown = wait_for(client, start(client, updating("no-such-service"))["id"])
    assert "has no service 'no-such-service' to update" in step(unknown, "update")["error"]

    # envs: one service given another's address (get_output_variable)
    def serving(name: str, after: Any = None, **config: Any) -> wf.steps.ServiceStep:
        model = wf.data.GalleryModel(subscription_id=content_id, version_num=version)
        return wf.steps.ServiceStep(
            name=name,
            inputs=wf.steps.ServiceInput(name="model", data=model),
            outputs=wf.steps.ServiceOutput(
                name="service", service_config=wf.steps.ServiceConfig(**config)
            ),
            depend_steps=after,
        )

    back = serving("back")
    address = back.outputs["service"].get_output_variable("access_address")
    front = serving("front", envs={"UPSTREAM": address, "MODE": "demo"}, after=back)
    pair = imported(client, wf.Workflow(name="pair", desc="", steps=[back, front]))
    both = wait_for(client, start(client, pair)["id"])
    assert both["status"] == "succeeded", both
    back_at = step(both, "back")["outputs"]["service"]
    front_at = step(both, "front")["outputs"]["service"]
    assert predict(front_at, ["env:UPSTREAM", "env:MODE", 1])["outputs"] == [back_at, "demo", 5]
    assert predict(back_at, ["env:UPSTREAM"])["outputs"] == [""]
    bad_env = serving("odd", envs={"LD_PRELOAD": "x"})
    odd = imported(client, wf.Workflow(name="odd", desc="", steps=[bad_env]))
    refused = wait_for(client, start(client, odd)["id"])
    assert "envs 'LD_PRELOAD' is not a variable a service may set" in step(refused, "odd")["error"]
    for found in client.get("/workspaces/default/services").json():
        if found["name"] in ("back", "front"):
            assert client.delete(f"/services/{found['id']}").status_code == 202

    assert 'href="/services/' + service_id + '"' in web.get("/services").text
    shown = web.get(f"/services/{service_id}")
    assert shown.status_code == 200
    assert listed["endpoint"] in shown.text and pin in shown.text and "started" in shown.text
    tried = web.submit(f"/services/{service_id}/try", {"inputs": "[1, 2]"})
    assert tried.status_code == 200 and "5,\n    10" in tried.text, tried.text
    assert web.submit(f"/services/{service_id}/try", {"inputs": "nope"}).status_code == 422
    stranger = web_user(runtime.gallery)
    assert stranger.get(f"/services/{service_id}").status_code == 404
    assert stranger.submit(f"/services/{service_id}/delete").status_code == 404

    # the CLI lists and deletes it
    gallery = shell_for(runtime.gallery.base_url, monkeypatch, capsys, tmp_path / "cfg")(client)
    table = gallery("services")
    assert table.code == 0 and "svc" in table.out and listed["endpoint"] in table.out
    assert service_id in {s["id"] for s in json.loads(gallery("services", "--json").out)}
    missing = gallery("services", "delete", "nope")
    assert missing.code != 0 and "has no service 'nope'" in missing.err
    deleted = gallery("services", "delete", "svc")
    assert deleted.code == 0 and "Deleting service svc" in deleted.out
    wait_until(lambda: client.get(f"/services/{service_id}").status_code == 404, "deleted")
    assert processes_of(service_id) == []
    assert gallery("services", "delete", "fresh").code == 0  # a failed one goes too
    wait_until(lambda: client.get(f"/services/{gone['id']}").status_code == 404, "deleted")
