"""Load `functions/<job>/app.py` and call its handler the way Lambda does.

Lambda puts the layer on the path (`/opt/python`) and the function's own folder at the
root of its package; here the layer goes on `sys.path` once and each function's folder
only while its module is imported, under a unique module name, so two functions with a
`models.py` of their own do not see each other's. One lock per function: a Lambda
execution environment runs one invocation at a time, and module-level state (a
Powertools resolver's `current_event`) relies on it.

Every invocation gets a Lambda context naming its own function (the template's
FunctionName for the local stack), whatever path invokes it: routes, stream consumers,
SNS subscriptions, the sweep. Deployed, each function has a process of its own; here all
share one, and with it the `logging` module and Powertools' shared logger state, where one
function's appended keys would tag another's lines. So while a handler runs, every log
record its thread creates carries that invocation's `function_name`, `function_arn`,
`function_request_id` and `function_memory_size` (Powertools lets a record's own
attributes win over appended keys).
"""

from __future__ import annotations

import importlib.util
import logging
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

log = logging.getLogger("local.functions")
_current = threading.local()  # the invocation running on this thread, if any

ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS = ROOT / "functions"
LAYER = ROOT / "layers" / "common"
REGION = "us-east-1"
ACCOUNT_ID = "123456789012"


def put_layer_on_path() -> None:
    """As Lambda does with /opt/python: the layer is importable by every function."""
    layer = str(LAYER)
    if layer not in sys.path:
        sys.path.insert(0, layer)


@dataclass
class LambdaContext:
    function_name: str
    memory_limit_in_mb: int = 256
    timeout_s: float = 30.0
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    _deadline: float = field(default=0.0, repr=False)

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.timeout_s

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{self.function_name}"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return f"local/[$LATEST]{self.aws_request_id[:8]}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def current_context() -> LambdaContext | None:
    """The context of the invocation running on this thread."""
    return getattr(_current, "context", None)


def _tag_records(factory: Callable[..., logging.LogRecord]) -> Callable[..., logging.LogRecord]:
    def tagged(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        context = current_context()
        if context is not None:
            record.function_name = context.function_name
            record.function_arn = context.invoked_function_arn
            record.function_request_id = context.aws_request_id
            record.function_memory_size = context.memory_limit_in_mb
        return record

    tagged._local_functions = True  # type: ignore[attr-defined]
    return tagged


def tag_log_records() -> None:
    """Make each log record name the function whose invocation created it (idempotent)."""
    factory = logging.getLogRecordFactory()
    if not getattr(factory, "_local_functions", False):
        logging.setLogRecordFactory(_tag_records(factory))


def exists(job: str, functions_dir: Path = FUNCTIONS) -> bool:
    return (functions_dir / job / "app.py").is_file()


def import_app(job: str, functions_dir: Path, name: str) -> ModuleType:
    """Import `functions/<job>/app.py` as module `name`, its folder on the path only meanwhile.

    The function's own helper modules (`actions.py`, `reads.py`) stay private to it: they
    leave `sys.modules` again, so another function's module of the same name is its own.
    """
    folder = functions_dir / job
    path = folder / "app.py"
    if not path.is_file():
        raise FileNotFoundError(f"functions/{job}/app.py does not exist (yet)")
    before = set(sys.modules)
    sys.path.insert(0, str(folder))
    try:
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    finally:
        sys.path.remove(str(folder))
        for added in set(sys.modules) - before - {name}:
            file = getattr(sys.modules[added], "__file__", None) or ""
            if file.startswith(str(folder) + "/"):
                sys.modules.pop(added, None)
    return module


class Functions:
    """The handlers of `functions/<job>/app.py`, imported once each, invoked one at a time each."""

    def __init__(
        self,
        functions_dir: Path = FUNCTIONS,
        *,
        memory: dict[str, int] | None = None,
        timeouts: dict[str, float] | None = None,
        names: dict[str, str] | None = None,
    ) -> None:
        self._dir = functions_dir
        self._memory = memory or {}
        self._timeouts = timeouts or {}
        self._names = names or {}
        tag_log_records()
        self._modules: dict[str, ModuleType] = {}
        self._import_lock = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}

    def exists(self, job: str) -> bool:
        return exists(job, self._dir)

    def _import(self, job: str) -> ModuleType:
        with self._import_lock:
            if job in self._modules:
                return self._modules[job]
            module = import_app(job, self._dir, f"_local_fn_{job}_app")
            self._modules[job] = module
            self._locks[job] = threading.Lock()
            return module

    def handler(self, job: str, name: str = "handler") -> Callable[[dict[str, Any], Any], Any]:
        return getattr(self._import(job), name)  # type: ignore[no-any-return]

    def name(self, job: str) -> str:
        """The function's name (its FunctionName in the template), what its context and log lines carry."""
        return self._names.get(job) or f"gift-plans-local-{job.replace('_', '-')}"

    def invoke(self, job: str, event: Any, *, handler_name: str = "handler") -> Any:
        """Call `job`'s handler as Lambda does: with a context naming that function, one call at a time."""
        handler = self.handler(job, handler_name)
        context = LambdaContext(
            function_name=self.name(job),
            memory_limit_in_mb=self._memory.get(job, 256),
            timeout_s=self._timeouts.get(job, 30.0),
        )
        with self._locks[job]:
            outer = current_context()
            _current.context = context
            try:
                return handler(event, context)
            finally:
                _current.context = outer

    def warm(self, jobs: list[str]) -> None:
        """Import what exists now, so the first request does not pay the cold start."""
        for job in jobs:
            if self.exists(job):
                try:
                    self._import(job)
                except Exception:
                    log.exception("functions/%s/app.py failed to import", job)
