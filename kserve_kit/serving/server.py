"""The model server's start-up: `serve(ModelClass)` is what a service's `python -m <package>` runs.

    python -m <package> --model_name NAME --model_dir DIR [--http_port 8080] [KServe's flags]

The ServingRuntime (k8s/serving-runtime.yaml) passes the same arguments in the cluster; `make run`
and `make smoke` start it the same way on your machine.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import logging
import sys
import warnings
from typing import Any, Protocol

from kserve_kit.serving import quota

# Before numpy, torch or KServe (which imports numpy) load: their thread pools read it once. The
# service's __main__ imports this module before its model for that reason.
quota.limit_threads()

import uvloop  # noqa: E402
from fastapi import FastAPI  # noqa: E402
from fastapi.exceptions import RequestValidationError  # noqa: E402
from kserve import Model, ModelServer, model_server  # noqa: E402
from kserve.protocol.rest.server import RESTServer  # noqa: E402

from kserve_kit.serving import guards, workers  # noqa: E402
from kserve_kit.serving.fast import FastInference  # noqa: E402
from kserve_kit.serving.limits import MAX_REQUEST_BYTES  # noqa: E402
from kserve_kit.serving.models import RowsModel  # noqa: E402
from kserve_kit.serving.openai_api import OpenAIRoutes  # noqa: E402

# KServe answers with FastAPI's ORJSONResponse, which newer FastAPI releases deprecate: the warning is
# about KServe's code, not the service's, and would be printed at the first request.
warnings.filterwarnings("ignore", message="ORJSONResponse is deprecated")

# `import kserve` already parses sys.argv for its own flags: extend its parser, don't replace it.
parser = argparse.ArgumentParser(parents=[model_server.parser])
parser.add_argument("--model_dir", required=True, help="directory holding the model (/mnt/models in the pod)")
parser.add_argument("--max_request_bytes", type=int, default=MAX_REQUEST_BYTES, help="bigger bodies get HTTP 413")
parser.add_argument(
    "--access_log", action="store_true", help="log every request (the mesh's proxies log them in the cluster)"
)
parser.add_argument(
    "--max_batch_requests", type=int, default=1, help="the most concurrent requests one model call answers (batching)"
)
# KServe's own --workers (default 1) starts its workers without the kit's guards: the kit starts them.
parser.set_defaults(workers=0)
WORKERS_HELP = "server processes; 0 (the default): one per CPU of the container's quota (quota.py)"
next(action for action in parser._actions if action.dest == "workers").help = WORKERS_HELP


class ModelClass(Protocol):
    def __call__(self, name: str, model_dir: str) -> Model: ...


class FrontDoor:
    """KServe's REST app with the kit's ASGI chain in front of it: the guards and the fast path see every
    request before FastAPI does (its routing and middleware cost a small model's request a fifth of
    its time). KServe finds its app by name when it starts (`kserve.model_server:app`, kserve 0.21
    model_server.py FASTAPI_APP_IMPORT_STRING) and adds its routes and middleware to it then: those
    go through to the FastAPI app."""

    def __init__(self, app: FastAPI, chain: Any) -> None:
        self.app, self.chain = app, chain

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.chain(scope, receive, send)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.app, name)


def install(app: FastAPI, max_request_bytes: int, model: Model, all_workers: bool) -> FrontDoor:
    """The guards (guards.py), the fast path (fast.py) and OpenAI's routes (openai_api.py) in front of
    KServe's REST app, for the model it serves; the metrics outermost, so they count the 413s too."""
    app.add_exception_handler(RequestValidationError, guards.v2_body_error)
    app.add_exception_handler(guards.BodyRefused, guards.body_refused)  # a body KServe's route was reading
    logging.getLogger("kserve").addFilter(guards.OneLineClientErrors())
    chain: Any = guards.PostOnly(guards.V2JsonBodies(app))
    if isinstance(model, RowsModel):  # a model class of kit 0.4 and before runs on KServe's route only
        chain = FastInference(chain, model)
    if getattr(model, "task", None):  # a text model (embeddings, text generation): OpenAI's routes too
        chain = OpenAIRoutes(chain, model)
    chain = guards.RequestMetrics(guards.RequestSizeLimit(chain, max_request_bytes), {model.name})
    return FrontDoor(app, workers.AllWorkersMetrics(chain) if all_workers else chain)


def worker_count(model_class: ModelClass, args: argparse.Namespace) -> int:
    """--workers, or one per CPU of the quota; one where a process must hold the model alone (a GPU
    model: `workers(cpus)` of its class) or gRPC listens (a port of its own, not shared)."""
    if args.workers:
        if args.workers > 1 and args.enable_grpc:
            raise SystemExit(f"--workers {args.workers} serves REST only: add --enable_grpc false, or --workers 1")
        return int(args.workers)
    share = getattr(model_class, "workers", None)
    return 1 if args.enable_grpc or share is None else share(quota.container_cpus())


def serve(model_class: ModelClass, argv: list[str] | None = None) -> None:
    """Load the model, install the guards, and serve it until SIGTERM: in this process, or in one
    worker process per CPU (workers.py), each with its share of the CPUs' compute threads."""
    argv = sys.argv[1:] if argv is None else argv
    args, _ = parser.parse_known_args(argv)
    count = worker_count(model_class, args)
    if count == 1:
        _serve_here(model_class, args)
        return
    threads = quota.limit_threads(max(1, quota.container_cpus() // count))  # the workers inherit it
    print(f"{args.model_name}: up to {count} workers, {threads} compute thread(s) each", file=sys.stderr, flush=True)
    worker = functools.partial(_worker, model_class, argv)
    raise SystemExit(workers.supervise(args.model_name, count, worker, args.http_port))


def _serve_here(model_class: ModelClass, args: argparse.Namespace) -> None:
    model = _load(model_class, args, all_workers=False)
    _model_server(args).start([model])


def _worker(model_class: ModelClass, argv: list[str], loaded: Any) -> None:
    """One of several workers (spawned by workers.supervise): the model, served on the shared port."""
    workers.die_with_parent()
    args, _ = parser.parse_known_args(argv)
    model = _load(model_class, args, all_workers=True)
    loaded.set()
    server = _model_server(args)
    # What ModelServer.start() does before it serves (kserve 0.21 model_server.py), on KServe's own
    # REST server class, given the socket the parent bound.
    server._register_and_check_atleast_one_model_is_ready([model])
    rest = RESTServer(
        model_server.FASTAPI_APP_IMPORT_STRING, server.dataplane, server.model_repository_extension,
        args.http_port, access_log_format=server.access_log_format, grace_period=server.grace_period,
        timeout_keep_alive=server.timeout_keep_alive,
    )  # fmt: skip
    rest.run(sockets=[workers.listen(args.http_port)])


def _load(model_class: ModelClass, args: argparse.Namespace, all_workers: bool) -> Model:
    """The loaded model, with the kit's chain in front of the app KServe will serve."""
    model = model_class(args.model_name, args.model_dir)
    model.max_batch_requests = args.max_batch_requests
    try:
        model.load()
    except (OSError, RuntimeError, ValueError) as error:
        # One line to act on (the pod's log, `make smoke`), not a traceback.
        raise SystemExit(f"{args.model_name}: the model did not load: {error}") from None
    # KServe serves the app of this name; it has no body size limit of its own (guards.py).
    model_server.app = install(model_server.app, args.max_request_bytes, model, all_workers)
    return model


def _model_server(args: argparse.Namespace) -> ModelServer:
    """KServe's ModelServer on uvloop, without a log line per request unless --access_log."""
    # KServe's server runs in asyncio.run(): on asyncio's own loop unless the policy says otherwise.
    # (Its start() asks for the current loop first, which uvloop's policy does not make by itself.)
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    asyncio.set_event_loop(asyncio.new_event_loop())
    # Configures logging (unless --configure_logging false); KServe's latency lines (kserve.trace, two per
    # request on its own route) come with --access_log only.
    server = ModelServer(workers=1, enable_latency_logging=args.access_log)
    if not args.access_log:  # a log line per request costs a small model a tenth of its time
        logging.getLogger("uvicorn.access").handlers.clear()
        logging.getLogger("uvicorn.access").propagate = False
    return server
