"""``wf.Workflow``: a DAG of steps, compiled to the IR and published to the gallery."""

from __future__ import annotations

from contextlib import contextmanager
from enum import Enum
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from sdk import spec as ir
from sdk._algorithm import Algorithm, BaseAlgorithm, GalleryAlgorithm
from sdk._data import (
    DataConsumptionSelector,
    ObjectPath,
    OutputConsumption,
    OutputVariable,
    Storage,
    StorageJoin,
    _Concrete,
)
from sdk._develop import Development
from sdk._errors import WorkflowDefinitionError
from sdk._job import JobEngine
from sdk._manual import SystemEnv
from sdk._parts import _Settings
from sdk._placeholder import Placeholder, check_name
from sdk._steps import (
    Condition,
    ConditionStep,
    JobStep,
    MetricInfo,
    Step,
    StepPolicy,
)
from sdk.resource import Workspace

if TYPE_CHECKING:
    from collections.abc import Iterator

    from sdk._publish import Release, RuntimeWorkflow
    from sdk._runs import Execution
    from sdk._session import Session


def _problems(exc: ValidationError) -> str:
    """A pydantic error on one line: ``Model.field: message; ...``."""
    return "; ".join(
        ".".join([exc.title, *(str(part) for part in error["loc"])]) + f": {error['msg']}"
        for error in exc.errors()
    )


def _system_env_message(env: SystemEnv, where: str) -> str:
    return (
        f"{where}: wf.SystemEnv.{env.name} is an environment variable of the job's process, "
        f"not a value to pass; read it in the step's code: os.environ[{env.value!r}]"
    )


def _check_local_algorithm_names(steps: list[ir.StepSpec]) -> None:
    """Local algorithms are published as assets by name: one name, one algorithm."""
    seen: dict[str, tuple[str, tuple[Any, ...]]] = {}
    for step in steps:
        if step.type != "job":
            continue
        algorithm: ir.AlgorithmSpec = step.typed_properties().algorithm
        if algorithm.source != "local":
            continue
        name = algorithm.name or step.name
        identity = (
            algorithm.code_dir,
            algorithm.boot_file,
            algorithm.command,
            algorithm.environments,
            algorithm.image,
            algorithm.engine,
        )
        first = seen.setdefault(name, (step.name, identity))
        if first[1] != identity:
            raise WorkflowDefinitionError(
                f"steps {first[0]!r} and {step.name!r} run different local algorithms both "
                f"named {name!r} (code_dir, boot_file, command, environments or engine "
                "differ); give each its own BaseAlgorithm(name=...)"
            )


class Scene:
    """A named subset of steps that can run on its own (a partial run). Its name is a display
    name in any script (``Scene(scene_name="模型训练", ...)``; ``ir.SCENE_NAME_RULE``)."""

    def __init__(self, scene_name: str, scene_steps: list[Step]) -> None:
        problem = ir.scene_name_problem(scene_name)
        if problem:
            raise WorkflowDefinitionError(f"scene name {problem}")
        self.scene_name = scene_name
        if not scene_steps:
            raise WorkflowDefinitionError(f"scene {scene_name!r} has no steps")
        self.scene_steps = list(scene_steps)


class Policy:
    """Workflow-level policy: the scenes it can run."""

    def __init__(self, scenes: list[Scene] | None = None) -> None:
        self.scenes = list(scenes or [])


class _Compiler:
    """Turns user objects into IR values, collecting placeholders and checking storages."""

    def __init__(self, workflow: Workflow) -> None:
        self.workflow = workflow
        self.placeholders: dict[str, tuple[Placeholder, str]] = {}
        self.declared = {s.name: s for s in workflow.storages}
        self.steps = {s.name: s for s in workflow.steps}

    def placeholder(self, p: Placeholder, where: str) -> ir.PlaceholderRef:
        known = self.placeholders.get(p.name)
        if known is None:
            self.placeholders[p.name] = (p, where)
            for nested in p.nested():
                self.placeholder(nested, f"{where} (placeholder {p.name!r}'s constraint)")
        elif known[0] is not p and known[0].spec() != p.spec():
            raise WorkflowDefinitionError(
                f"placeholder {p.name!r} is defined twice with different settings "
                f"({known[1]} and {where})"
            )
        return ir.PlaceholderRef(name=p.name)

    def storage(self, storage: Storage, where: str) -> None:
        declared = self.declared.get(storage.name)
        if declared is None:
            raise WorkflowDefinitionError(
                f"{where}: storage {storage.name!r} is not listed in Workflow(storages=...)"
            )
        if declared is not storage:
            raise WorkflowDefinitionError(
                f"{where}: another storage named {storage.name!r} is listed in the workflow"
            )

    def producer(self, step: Step, where: str) -> None:
        if self.steps.get(step.name) is not step:
            raise WorkflowDefinitionError(
                f"{where}: uses step {step.name!r}, which is not in Workflow(steps=...)"
            )

    def variable(self, obj: OutputVariable, where: str) -> ir.OutputVariableRef:
        self.producer(obj.step, where)
        return ir.OutputVariableRef(step=obj.step.name, output=obj.output, name=obj.name)  # type: ignore[arg-type]

    def value(self, obj: Any, where: str) -> Any:
        """An IR value expression for ``obj``."""
        if isinstance(obj, OutputVariable):
            raise WorkflowDefinitionError(
                f"{where}: {obj!r} is a service's address, known once that step has run; it "
                "can go into a step's settings (ServiceConfig(envs={...})), not into an input, "
                "a parameter or a condition"
            )
        if isinstance(obj, SystemEnv):
            raise WorkflowDefinitionError(_system_env_message(obj, where))
        if isinstance(obj, Placeholder):
            return self.placeholder(obj, where)
        if isinstance(obj, Storage):
            self.storage(obj, where)
            return ir.StoragePath(storage=obj.name)
        if isinstance(obj, StorageJoin):
            self.storage(obj.storage, where)
            return ir.StoragePath(
                storage=obj.storage.name,
                path=obj.path,
                with_execution_id=obj.with_execution_id,
                create_dir=obj.create_dir,
            )
        if isinstance(obj, OutputConsumption):
            self.producer(obj.step, where)
            return ir.OutputRef(step=obj.step.name, output=obj.output)
        if isinstance(obj, DataConsumptionSelector):
            return ir.SelectorRef(candidates=[self.value(d, where) for d in obj.data_list])
        if isinstance(obj, MetricInfo):
            self.producer(obj.input_data.step, where)
            return ir.MetricRef(
                step=obj.input_data.step.name, output=obj.input_data.output, key=obj.json_key
            )
        if isinstance(obj, ObjectPath):
            if isinstance(obj.obs_path, str):
                return ir.DataValue(kind="path", value={"path": obj.obs_path})
            return self.value(obj.obs_path, where)
        if isinstance(obj, _Concrete):
            return ir.DataValue(kind=obj.kind, value=obj.as_dict())  # type: ignore[arg-type]
        if isinstance(obj, Enum):
            return ir.LiteralValue(value=obj.value)
        return ir.LiteralValue(value=self.plain(obj, where))

    def plain(self, obj: Any, where: str) -> Any:
        """JSON data for settings; placeholders and paths inside become value expressions."""
        if isinstance(obj, SystemEnv):
            raise WorkflowDefinitionError(_system_env_message(obj, where))
        if obj is None or isinstance(obj, bool | int | float | str):
            return obj
        if isinstance(obj, Enum):
            return obj.value
        if isinstance(obj, OutputVariable):
            return self.variable(obj, where).model_dump(mode="json")
        if isinstance(obj, dict):
            return {str(k): self.plain(v, f"{where}.{k}") for k, v in obj.items()}
        if isinstance(obj, list | tuple):
            return [self.plain(v, f"{where}[{i}]") for i, v in enumerate(obj)]
        if isinstance(obj, _Settings):
            return self.plain(obj.settings, where)
        if isinstance(
            obj,
            Placeholder | Storage | StorageJoin | OutputConsumption | ObjectPath | _Concrete,
        ):
            return self.value(obj, where).model_dump(mode="json")
        if hasattr(obj, "__dict__"):
            return self.plain({k: v for k, v in vars(obj).items() if not k.startswith("_")}, where)
        raise WorkflowDefinitionError(f"{where}: cannot use {obj!r} in a workflow definition")

    def condition(self, c: Condition, where: str) -> ir.ConditionSpec:
        def side(x: Any) -> Any:
            return self.condition(x, where) if isinstance(x, Condition) else self.value(x, where)

        return ir.ConditionSpec(op=c.condition_type.value, left=side(c.left), right=side(c.right))

    def policy(self, step: Step) -> ir.StepPolicySpec:
        p: StepPolicy = step.policy
        where = f"step {step.name!r} policy"
        return ir.StepPolicySpec(
            poll_interval_seconds=p.poll_interval_seconds,
            max_execution_minutes=p.max_execution_minutes,
            skip_conditions=[self.condition(c, where) for c in p.skip_conditions],
            retry=ir.RetrySpec(
                max_attempts=p.max_retries + 1,
                initial_interval_seconds=p.retry_interval_seconds,
                backoff_coefficient=p.retry_backoff,
                max_interval_seconds=p.max_retry_interval_seconds,
            ),
        )

    def algorithm(self, step: JobStep) -> ir.AlgorithmSpec:
        algorithm = step.algorithm
        where = f"step {step.name!r}"
        parameters = [
            ir.ParameterSpec(
                name=p.name, value=self.value(p.value, f"{where} parameter {p.name!r}")
            )
            for p in algorithm.parameters
        ]
        engine = self.engine(algorithm, where)
        if isinstance(algorithm, BaseAlgorithm) and algorithm.is_local:
            algorithm.check_local(step.name)
            image = getattr(algorithm.engine, "image_url", None)
            return ir.AlgorithmSpec(
                source="local",
                code_dir=str(algorithm.code_dir),
                name=algorithm.name or step.name,
                boot_file=algorithm.boot_file,
                command=algorithm.command if isinstance(algorithm.command, str) else None,
                parameters=parameters,
                environments=algorithm.environments,
                image=image if isinstance(image, str) else None,
                engine=engine,
            )
        environments: dict[str, str] = {}
        if isinstance(algorithm, GalleryAlgorithm):
            content_id, version = algorithm.subscription_id, algorithm.item_version_id
        elif isinstance(algorithm, Algorithm):
            content_id, version = algorithm.algorithm_id, algorithm.version or "latest"
        else:
            assert isinstance(algorithm, BaseAlgorithm)
            if algorithm.boot_file or algorithm.command:
                raise WorkflowDefinitionError(
                    f"{where}: an algorithm asset (id/subscription_id) starts the way it was "
                    "published; boot_file and command belong to local code (code_dir)"
                )
            content_id = algorithm.id or algorithm.subscription_id or ""
            version = algorithm.item_version_id or "latest"
            environments = algorithm.environments
        return ir.AlgorithmSpec(
            source="gallery",
            content_id=content_id,
            version=version,
            parameters=parameters,
            environments=environments,
            engine=engine,
        )

    def engine(self, algorithm: Any, where: str) -> ir.EngineSpec | None:
        """``BaseAlgorithm(engine=JobEngine(...))``, its fields as value expressions."""
        engine = getattr(algorithm, "engine", None)
        if engine is None:
            return None
        if not isinstance(engine, JobEngine):
            raise WorkflowDefinitionError(
                f"{where}: engine must be a wf.steps.JobEngine, not {engine!r}"
            )
        fields = {
            "id": engine.engine_id,
            "name": engine.engine_name,
            "version": engine.engine_version,
            "image": engine.image_url,
        }
        given = {
            k: self.value(v, f"{where} engine {k}") for k, v in fields.items() if v is not None
        }
        return ir.EngineSpec(**given) if given else None

    def step(self, step: Step) -> ir.StepSpec:
        where = f"step {step.name!r}"
        for dep in step.depend_steps:
            self.producer(dep, f"{where} depend_steps")
        inputs = [
            ir.InputSpec(name=i.name, data=self.value(i.data, f"{where} input {i.name!r}"))
            for i in step.input_list
        ]
        outputs = []
        for out in step.output_list:
            location = out.location()
            outputs.append(
                ir.OutputSpec(
                    name=out.name,
                    kind=out.kind,  # type: ignore[arg-type]
                    path=None
                    if location is None
                    else self.value(location, f"{where} output {out.name!r}"),
                    config=self.plain(out.config(), f"{where} output {out.name!r}"),
                )
            )
        log_export = step.spec.log_export_path if isinstance(step, JobStep) else None
        if log_export is not None:
            if any(o.name == ir.LOG_OUTPUT for o in step.output_list):
                raise WorkflowDefinitionError(
                    f"{where}: output name {ir.LOG_OUTPUT!r} is taken by JobSpec's "
                    "log_export_path (the directory the log is copied to); rename the output"
                )
            outputs.append(
                ir.OutputSpec(
                    name=ir.LOG_OUTPUT,
                    kind="log",
                    path=self.value(log_export.obs_url, f"{where} log_export_path"),
                )
            )
        properties: dict[str, Any]
        if isinstance(step, JobStep):
            resource = step.spec.resource
            properties = {
                "algorithm": self.algorithm(step).model_dump(mode="json"),
                "resource": {
                    "flavor": None
                    if resource.flavor is None
                    else self.value(resource.flavor, f"{where} flavor").model_dump(mode="json"),
                    "node_count": self.value(resource.node_count, f"{where} node_count").model_dump(
                        mode="json"
                    ),
                },
            }
        elif isinstance(step, ConditionStep):
            properties = {
                "conditions": [
                    self.condition(c, where).model_dump(mode="json") for c in step.conditions
                ],
                "if_then_steps": step.if_then_steps,
                "else_then_steps": step.else_then_steps,
            }
        else:
            properties = self.plain(step.properties, f"{where} properties") or {}
            if not isinstance(properties, dict):
                raise WorkflowDefinitionError(f"{where}: properties must be settings")
        return ir.StepSpec(
            name=step.name,
            title=step.title,
            description=step.description,
            type=step.step_type,  # type: ignore[arg-type]
            inputs=inputs,
            outputs=outputs,
            properties=properties,
            policy=self.policy(step),
            depends_on=[d.name for d in step.depend_steps],
        )


class Workflow(Development):
    """A pipeline of steps. ``compile()`` gives its IR; ``release_to_gallery()`` publishes it
    as a gallery asset; ``release()`` / ``release_and_run()`` make it runnable in a workspace.

    ``workspace`` (a ``wf.resource.Workspace`` or a workspace name; default ``default``) is
    where ``release()``, ``release_and_run()`` and ``run()`` put it when not told otherwise."""

    def __init__(
        self,
        name: str,
        desc: str = "",
        steps: Step | list[Step] | None = None,
        storages: Storage | list[Storage] | None = None,
        policy: Policy | None = None,
        session: Session | None = None,
        workspace: Workspace | str | None = None,
    ) -> None:
        self.name = check_name("workflow", name)
        self.desc = desc or ""
        self.steps: list[Step] = (
            [] if steps is None else (list(steps) if isinstance(steps, list | tuple) else [steps])
        )
        if not self.steps:
            raise WorkflowDefinitionError(f"workflow {name!r} has no steps")
        for step in self.steps:
            if not isinstance(step, Step):
                raise WorkflowDefinitionError(f"workflow {name!r}: {step!r} is not a step")
        self.storages: list[Storage] = (
            []
            if storages is None
            else (list(storages) if isinstance(storages, list | tuple) else [storages])
        )
        if policy is not None and not isinstance(policy, Policy):
            raise WorkflowDefinitionError(
                f"workflow {name!r}: policy must be a wf.policy.Policy, not {policy!r}"
            )
        self.policy = policy or Policy()
        self.session = session
        if isinstance(workspace, Workspace):
            workspace = workspace.name
        elif workspace is not None and not isinstance(workspace, str):
            raise WorkflowDefinitionError(
                f"workflow {name!r}: workspace must be a wf.resource.Workspace or a workspace "
                f"name, not {workspace!r}"
            )
        self.workspace: str = check_name("workspace", workspace or "default")
        """The workspace's name: where release(), release_and_run() and run() go by default."""
        self.workflow_id: str | None = None
        """The runtime workflow the latest ``release()`` made or updated."""

    def compile(self) -> ir.WorkflowSpec:
        """The validated IR; a definition error names the step, placeholder or storage."""
        compiler = _Compiler(self)
        names = [s.name for s in self.steps]
        for name in names:
            if names.count(name) > 1:
                raise WorkflowDefinitionError(
                    f"workflow {self.name!r}: duplicate step name {name!r}"
                )
        storage_names = [s.name for s in self.storages]
        for name in storage_names:
            if storage_names.count(name) > 1:
                raise WorkflowDefinitionError(
                    f"workflow {self.name!r}: two storages are named {name!r}"
                )
        steps = []
        for step in self.steps:
            try:
                steps.append(compiler.step(step))
            except ValidationError as exc:
                raise WorkflowDefinitionError(f"step {step.name!r}: {_problems(exc)}") from None
        _check_local_algorithm_names(steps)
        scenes = []
        for scene in self.policy.scenes:
            for step in scene.scene_steps:
                name = step.name if isinstance(step, Step) else str(step)
                if compiler.steps.get(name) is None:
                    raise WorkflowDefinitionError(
                        f"scene {scene.scene_name!r} names step {name!r}, which is not in the "
                        "workflow"
                    )
            scenes.append(
                ir.SceneSpec(
                    name=scene.scene_name,
                    steps=[getattr(s, "name", s) for s in scene.scene_steps],
                )
            )
        try:
            spec = ir.WorkflowSpec(
                name=self.name,
                description=self.desc,
                placeholders=[p.spec() for p, _ in compiler.placeholders.values()],
                storages=[
                    ir.StorageSpec(
                        name=s.name,
                        title=s.title,
                        description=s.description,
                        kind=s.kind,  # type: ignore[arg-type]
                        with_execution_id=s.with_execution_id,
                        create_dir=s.create_dir,
                    )
                    for s in self.storages
                ],
                steps=steps,
                scenes=scenes,
            )
            ir.validate(spec)
        except ir.SpecError as exc:
            raise WorkflowDefinitionError(f"workflow {self.name!r}: {exc}") from None
        except ValidationError as exc:
            raise WorkflowDefinitionError(f"workflow {self.name!r}: {_problems(exc)}") from None
        return spec

    def release_to_gallery(
        self,
        content_id: str | None = None,
        version: str | None = None,
        desc: str | None = None,
        title: str | None = None,
        visibility: str | None = None,
        group_users: list[str] | None = None,
    ) -> Release:
        """Publish this workflow (and its local algorithms) as gallery assets. ``visibility``
        None keeps what the assets have (a first release is private)."""
        from sdk._publish import release_to_gallery

        with self._session() as session:
            return release_to_gallery(
                self,
                session,
                content_id=content_id,
                version=version,
                desc=desc,
                title=title,
                visibility=visibility,
                group_users=group_users,
            )

    @contextmanager
    def _session(self) -> Iterator[Session]:
        """``self.session``, or one from the environment / credentials for this call only."""
        from sdk._session import Session

        if self.session is not None:
            yield self.session
            return
        with Session() as own:
            yield own

    def release(self, workspace: str | None = None, name: str | None = None) -> RuntimeWorkflow:
        """Make this workflow runnable in ``workspace`` (default: ``self.workspace``) under
        ``name`` (default: its own).

        Local algorithms are published first, as ``release_to_gallery()`` does (a new one is
        private; an unchanged one is reused), and the compiled workflow, referring to them,
        becomes a runtime workflow. Releasing again under the same name updates that workflow
        (``created`` is False). The id is kept in ``self.workflow_id``. Raises PublishError
        naming the algorithm or workflow that failed."""
        from sdk._publish import release_to_workspace

        with self._session() as session:
            released = release_to_workspace(
                self, session, workspace=workspace or self.workspace, name=name
            )
        self.workflow_id = released.id
        return released

    def release_and_run(
        self,
        workspace: str | None = None,
        parameters: dict[str, Any] | None = None,
        scene: str | None = None,
        name: str | None = None,
    ) -> Execution:
        """``release()``, then start an execution with these placeholder values (on top of
        the defaults and the saved configuration) and, if given, only that scene's steps.

        Returns a handle on the started execution (``wait()``, ``follow()``,
        ``continue_step()`` …; see docs/sdk-runtime.md). A refused start raises ApiError naming
        the workflow (422: a value that does not fit its placeholder; 409: the workflow already
        has an open execution)."""
        from sdk._errors import ApiError
        from sdk._execution import Execution
        from sdk._runs import start_execution
        from sdk._session import Session

        released = self.release(workspace=workspace, name=name)
        session = self.session or Session()  # the handle keeps it for its later calls
        try:
            started = start_execution(session, released.id, parameters, scene)
        except ApiError as exc:
            if session is not self.session:
                session.close()
            raise ApiError(
                exc.status,
                f"starting workflow {released.workspace}/{released.name}: {exc.detail}",
                exc.errors,
            ) from None
        return Execution(session, started)

    def __repr__(self) -> str:
        return f"Workflow({self.name!r}, steps={[s.name for s in self.steps]})"
