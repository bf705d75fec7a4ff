"""The Ray executor (`--executor ray`): a session, reading as Ray tasks, engines in actors.

The run plan decides what runs and the summarising stage which batches (digest.executing's
plan_batches, the same as a local run's); this module only knows how to run them on Ray.
Actors and reading functions are pickled by reference, so a worker imports the same code the
driver runs.
"""

from __future__ import annotations

import importlib.util
import logging
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from digest.engines.base import Kind, Summariser
from digest.engines.spec import EngineSpec
from digest.errors import DigestError, ModelUnavailable, UsageError
from digest.executing import Identity, build_engine

log = logging.getLogger(__name__)

EXECUTORS = ("local", "ray")
INSTALL = "pip install 'article-digest[ray]'"
#: Files per reading task: enough to pay for a task's overhead, few enough to spread out.
FILES_PER_TASK = 8
#: How often Ray restarts a worker whose process died, and runs its batch again.
RETRIES = 3


def check_executor(name: str) -> str:
    """The executor named (local, ray; any case), or a UsageError listing them."""
    chosen = (name or "local").strip().lower()
    if chosen not in EXECUTORS:
        raise UsageError(f"unknown executor {name!r}; choose one of: {', '.join(EXECUTORS)}")
    return chosen


def require_ray() -> None:
    """A one-line UsageError when the `ray` extra is not installed (before any work)."""
    if importlib.util.find_spec("ray") is None:
        raise UsageError(f"--executor ray needs the ray extra: {INSTALL}")


@dataclass(frozen=True)
class RaySettings:
    """Where and how wide: the cluster's address, and each summarising worker's share of it."""

    #: None: Ray's own choice (RAY_ADDRESS, else a new local instance); "auto", "ray://…".
    address: str | None = None
    #: Summarising workers (actors), each with the engine loaded once.
    workers: int = 2
    cpus_per_worker: float = 1.0
    gpus_per_worker: float = 0.0

    def __post_init__(self) -> None:
        if self.workers < 1:
            raise UsageError(f"--workers must be at least 1, not {self.workers}")
        if self.cpus_per_worker <= 0:
            raise UsageError(f"--cpus-per-worker must be above 0, not {self.cpus_per_worker:g}")
        if self.gpus_per_worker < 0:
            raise UsageError(f"--gpus-per-worker must not be negative: {self.gpus_per_worker:g}")


class RaySession:
    """ray.init on entry (unless this process is connected already), shutdown on exit."""

    def __init__(self, settings: RaySettings) -> None:
        self.settings = settings
        self._started = False

    def __enter__(self) -> RaySession:
        require_ray()
        import ray

        if not ray.is_initialized():
            # Ray's own notes ("Started a local Ray instance", its token set-up) would break
            # a quiet cron run; its errors still show.
            try:
                ray.init(
                    address=self.settings.address,
                    logging_level=logging.ERROR,
                    include_dashboard=False,
                )
            except (ConnectionError, RuntimeError, ValueError) as exc:
                where = self.settings.address or "a new local instance"
                reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                raise DigestError(f"could not start or join Ray ({where}): {reason}") from None
            self._started = True
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._started:
            import ray

            ray.shutdown()

    def read(self, paths: Sequence[Any], reader: Callable[[Any], Any]) -> list[Any]:
        """reader(path) for every path, as Ray tasks (a few paths each), results in order.

        Ray runs a task again on another worker when its worker dies; `reader` must not
        raise for bad input (the pipeline's turns it into a Skipped entry).
        """
        import ray

        task = ray.remote(_read_many).options(max_retries=3, retry_exceptions=False)
        groups = [paths[i : i + FILES_PER_TASK] for i in range(0, len(paths), FILES_PER_TASK)]
        refs = [task.remote(list(group), reader) for group in groups]
        return [result for group in ray.get(refs) for result in group]


def _read_many(paths: list[Any], reader: Callable[[Any], Any]) -> list[Any]:
    return [reader(path) for path in paths]


class EngineActor:
    """A Ray actor: builds the engine once from the specification, then summarises batch after
    batch with it (the model stays loaded between batches and between a run's passes)."""

    def __init__(self, spec: EngineSpec) -> None:
        self.error = ""
        self.identity: tuple[str, str | None, str | None, tuple[str, ...]] = ("", None, None, ())
        self.engine: Summariser | None = None
        try:
            self.engine, notices = build_engine(spec)
        except ModelUnavailable as exc:
            # Returned with the answers, so the driver fails with the same one line a local
            # run prints (a constructor's exception would be retried, then wrapped).
            self.error = str(exc)
        else:
            engine = self.engine
            self.identity = (engine.name, engine.model, engine.backend, tuple(notices))

    def describe(self) -> tuple[str, tuple[str, str | None, str | None, tuple[str, ...]]]:
        return self.error, self.identity

    def summarise(self, kind: Kind, texts: list[str]) -> tuple[str, list[str]]:
        """(error, summaries): the error of an engine that could not be built, else ""."""
        if self.engine is None:
            return self.error, []
        return "", self.engine.summarise(texts, kind=kind)


class RayExecutor:
    """Batches on Ray: up to `workers` actors (started as batches need them, each loading the
    engine once), every batch given to the next free actor. An actor whose process dies is
    restarted and its batch run again; each batch's answer is taken once."""

    name = "ray"

    def __init__(self, session: RaySession, spec: EngineSpec) -> None:
        self.settings = session.settings
        threads = max(1, math.floor(self.settings.cpus_per_worker))
        worker_spec = spec
        if spec.engine != "extractive":  # it reads no prompts and runs on one thread
            # The driver's prompt templates travel with the specification: a worker on another
            # machine may not have the driver's prompt folders.
            worker_spec = spec.with_prompts()
            if "threads" not in dict(spec.options):
                worker_spec = worker_spec.with_options(threads=threads)
        self.spec = worker_spec
        self.actors: list[Any] = []
        self.identity: Identity | None = None

    def _actor(self) -> Any:
        import ray

        actor_class = ray.remote(EngineActor).options(
            num_cpus=self.settings.cpus_per_worker,
            num_gpus=self.settings.gpus_per_worker or None,
            max_restarts=RETRIES,
            max_task_retries=RETRIES,
        )
        actor = actor_class.remote(self.spec)
        self.actors.append(actor)
        return actor

    def start(self) -> Identity:
        if self.identity is None:
            import ray

            actor = self.actors[0] if self.actors else self._actor()
            error, (engine, model, backend, notices) = _get(ray, actor.describe.remote())
            if error:
                raise ModelUnavailable(error)
            self.identity = Identity(engine, model, backend, notices)
        return self.identity

    def run(
        self, kind: Kind, batches: Sequence[Sequence[str]], progress: Callable[[int], None] | None
    ) -> Iterator[tuple[int, list[str]]]:
        import ray

        self.start()
        waiting = list(range(len(batches)))
        waiting.reverse()  # popped from the end: batch 0 goes first
        idle = list(self.actors)
        running: dict[Any, tuple[int, Any]] = {}  # answer → (batch, the actor making it)
        while waiting or running:
            while waiting and (idle or len(self.actors) < self.settings.workers):
                actor = idle.pop() if idle else self._actor()
                index = waiting.pop()
                running[actor.summarise.remote(kind, list(batches[index]))] = (index, actor)
            done, _ = ray.wait(list(running), num_returns=1)
            for ref in done:
                index, actor = running.pop(ref)
                idle.append(actor)
                error, summaries = _get(ray, ref)
                if error:
                    raise ModelUnavailable(error)
                if progress:
                    progress(len(summaries))
                yield index, summaries

    def close(self) -> None:
        if not self.actors:
            return
        import ray

        for actor in self.actors:
            ray.kill(actor)
        self.actors = []


def _get(ray: Any, ref: Any) -> Any:
    """ray.get, with a worker that died more often than Ray retries as one line."""
    try:
        return ray.get(ref)
    except ray.exceptions.RayActorError as exc:
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise DigestError(f"a Ray worker died {RETRIES + 1} times ({reason}); run again") from None
