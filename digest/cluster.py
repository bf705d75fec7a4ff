"""Ray mechanics for `--executor ray`: a session, reading as Ray tasks, engines in an actor pool.

The pipeline decides what runs (digest.pipeline); this module only knows how to run it on
Ray. It imports nothing of the pipeline: functions and the engine specification arrive as
arguments, pickled by reference, so a worker imports the same code the driver runs.
"""

from __future__ import annotations

import importlib.util
import logging
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from digest.engines.base import Summariser
from digest.engines.spec import EngineSpec
from digest.errors import DigestError, ModelUnavailable, UsageError

log = logging.getLogger(__name__)

EXECUTORS = ("local", "ray")
INSTALL = "pip install 'digest[ray]'"
#: Files per reading task: enough to pay for a task's overhead, few enough to spread out.
FILES_PER_TASK = 8
#: Most texts in one block (one actor call): the engine sorts and batches within it, and a
#: dying worker costs at most one block's work, which Ray runs again.
MOST_PER_BLOCK = 64


def check_executor(name: str) -> str:
    """The executor named (local, ray; any case), or a UsageError listing them."""
    chosen = (name or "local").strip().lower()
    if chosen not in EXECUTORS:
        raise UsageError(f"unknown executor {name!r}; choose one of: {', '.join(EXECUTORS)}")
    return chosen


def require_ray() -> None:
    """A one-line UsageError when the `ray` extra is not installed (before any work)."""
    if importlib.util.find_spec("ray") is None or importlib.util.find_spec("ray.data") is None:
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


@dataclass(frozen=True)
class Request:
    """One text for the engine. An article's TL;DR (the summary of its summary) comes back
    with it, made by the same worker, so no second pass over the cluster is needed."""

    kind: str
    text: str


@dataclass(frozen=True)
class Answer:
    """What a worker sends back for one request, and which engine wrote it."""

    index: int
    summary: str
    tldr: str
    engine: str
    model: str | None
    backend: str | None
    notices: tuple[str, ...]


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
        from ray.data import DataContext

        # After the import, which sets up Ray Data's loggers: only its errors reach stderr.
        logging.getLogger("ray.data").setLevel(logging.ERROR)
        context = DataContext.get_current()
        context.enable_progress_bars = False  # digest draws its own, on a terminal only
        context.print_on_execution_start = False
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

    def summarise(
        self,
        spec: EngineSpec,
        builder: Callable[[EngineSpec], tuple[Summariser, list[str]]],
        requests: Sequence[Request],
    ) -> Iterator[list[Answer]]:
        """Every request through engines built once per worker from `spec`, as Ray Data
        map_batches over an actor pool. Yields answers batch by batch as they arrive (so the
        caller can store them at once), each request exactly once, in no particular order."""
        import ray.data

        settings = self.settings
        if not requests:
            return
        # Texts of one kind and similar length share a block, as the local run sorts them.
        order = sorted(
            range(len(requests)), key=lambda i: (requests[i].kind, len(requests[i].text))
        )
        per_block = max(1, min(MOST_PER_BLOCK, math.ceil(len(order) / (settings.workers * 4))))
        rows = [{"index": i, "kind": requests[i].kind, "text": requests[i].text} for i in order]
        blocks = math.ceil(len(rows) / per_block)
        dataset = ray.data.from_items(rows, override_num_blocks=blocks)
        threads = max(1, math.floor(settings.cpus_per_worker))
        worker_spec = spec
        if spec.engine != "extractive":  # it reads no prompts and runs on one thread
            worker_spec = spec.with_prompts()
            if "threads" not in dict(spec.options):
                worker_spec = worker_spec.with_options(threads=threads)
        # The specification rides on a subclass (pickled by value with it) rather than as
        # constructor arguments, which Ray Data would park in the object store, where an actor
        # restarted after its worker died might no longer find them.
        worker = type("EngineWorker", (EngineWorker,), {"spec": worker_spec, "builder": builder})
        answered = dataset.map_batches(
            worker,
            batch_size=per_block,
            batch_format="numpy",
            compute=ray.data.ActorPoolStrategy(size=min(settings.workers, blocks)),
            num_cpus=settings.cpus_per_worker,
            num_gpus=settings.gpus_per_worker or None,
        )
        seen: set[int] = set()
        for batch in answered.iter_batches(batch_format="numpy", batch_size=None):
            answers = []
            for i, index in enumerate(batch["index"].tolist()):
                error = str(batch["error"][i])
                if error:
                    raise ModelUnavailable(error)
                if index in seen:
                    continue  # a retried block whose first run did get through: once only
                seen.add(index)
                answers.append(
                    Answer(
                        index=index,
                        summary=str(batch["summary"][i]),
                        tldr=str(batch["tldr"][i]),
                        engine=str(batch["engine"][i]),
                        model=str(batch["model"][i]) or None,
                        backend=str(batch["backend"][i]) or None,
                        notices=tuple(n for n in str(batch["notices"][i]).split("\n") if n),
                    )
                )
            yield answers
        if len(seen) != len(requests):
            raise DigestError(
                f"the Ray cluster returned {len(seen)} of {len(requests)} summaries; run again"
            )


def _read_many(paths: list[Any], reader: Callable[[Any], Any]) -> list[Any]:
    return [reader(path) for path in paths]


class EngineWorker:
    """A Ray Data actor: builds the engine once from the specification, then summarises
    block after block with it (the model stays loaded between blocks)."""

    spec: EngineSpec
    builder: Callable[[EngineSpec], tuple[Summariser, list[str]]]

    def __init__(self) -> None:
        self.error = ""
        self.notices: list[str] = []
        self.engine: Summariser | None = None
        try:
            self.engine, self.notices = type(self).builder(self.spec)
        except ModelUnavailable as exc:
            # Reported with the block's rows, so the driver fails with the same one line a
            # local run prints (a constructor's exception would be retried, then wrapped).
            self.error = str(exc)

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        indices = batch["index"].tolist()
        kinds = [str(k) for k in batch["kind"].tolist()]
        texts = [str(t) for t in batch["text"].tolist()]
        summaries = [""] * len(texts)
        tldrs = [""] * len(texts)
        engine = self.engine
        if engine is not None:
            for kind in ("section", "article", "tldr"):
                slots = [i for i, k in enumerate(kinds) if k == kind]
                if not slots:
                    continue
                done = engine.summarise([texts[i] for i in slots], kind=kind)
                for i, summary in zip(slots, done, strict=True):
                    summaries[i] = summary
                if kind == "article":
                    for i, tldr in zip(slots, engine.summarise(done, kind="tldr"), strict=True):
                        tldrs[i] = tldr
        n = len(texts)
        return {
            "index": indices,
            "summary": summaries,
            "tldr": tldrs,
            "engine": [engine.name if engine else ""] * n,
            "model": [(engine.model or "") if engine else ""] * n,
            "backend": [(engine.backend or "") if engine else ""] * n,
            "notices": ["\n".join(self.notices)] * n,
            "error": [self.error] * n,
        }
