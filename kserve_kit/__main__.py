"""`kserve-kit <command>`: the platform tooling a service repo's Makefile calls.

Every command works on the service directory given with --repo (default: the current directory or
its nearest parent holding kserve-kit.yaml). Exit codes: 0 done, 1 the check failed (the output
says what and how to fix it), 2 the command could not run (e.g. no cluster, a missing file).
"""

from __future__ import annotations

import argparse
import importlib
import signal
import sys
from pathlib import Path
from typing import NamedTuple

from kserve_kit import KitError, __version__


class Command(NamedTuple):
    module: str  # kserve_kit.<module> (a dotted path for a subpackage's) holds `add_arguments` and `run`
    help: str
    add_arguments: str = "add_arguments"
    run: str = "run"


COMMANDS = {
    "serve": Command("local_server", "run the model server on this machine until Ctrl-C (make run)"),
    "smoke": Command("smoke", "prove the service answers: locally, or deployed by the guideline's endpoints"),
    "validate": Command(
        "checks.validate", "check k8s/ against KServe's and Kubernetes' schemas and the platform policy"
    ),
    "conflicts": Command("conflicts", "refuse a repo holding merge conflicts left by an update"),
    "status": Command("cluster.status", "is the deployed InferenceService ready?"),
    "doctor": Command("cluster.doctor", "what is wrong with the deployed service, mapped to the guideline"),
    "mar": Command("torchserve", "pack the TorchServe model archive (TorchServe services)"),
    "image": Command(
        "container", "build the image (Docker, or podman without a Docker engine)", "add_image_arguments", "run_image"
    ),  # fmt: skip
    "container-smoke": Command("container", "run the image as its ServingRuntime would and smoke-test it"),
    "push": Command("digest", "push the image and deploy it by its digest (k8s/kustomization.yaml images:)"),
    "deploy": Command(
        "cluster.rollout", "kubectl apply -k k8s, ending a canary k8s/ no longer declares", run="run_deploy"
    ),
    "canary": Command(
        "cluster.rollout",
        "deploy k8s/ as a canary taking --percent of the traffic (Knative mode)",
        "add_canary_arguments",
        "run_canary",
    ),  # fmt: skip
    "promote": Command("cluster.rollout", "send all traffic to the canary", run="run_promote"),
    "rollback": Command("cluster.rollout", "send all traffic back to the previous revision", run="run_rollback"),
    "predictor-pod": Command("predictor", "the predictor pod the cluster runs, as YAML (for scanners)"),
    "lock": Command("lock", "pin every dependency with its hashes, or --check that the locks are current (make lock)"),
    "update": Command(
        "update",
        "copier update to the newest kit, failing on conflicts (make update)",
        "add_update_arguments",
        "run_update",
    ),  # fmt: skip
    "update-check": Command(
        "update",
        "exit 1 when the kit has changes this repo has not (3: unreachable, 4: commit unknown)",
        "add_check_arguments",
        "run_check",
    ),
}


def parser(selected: str | None) -> argparse.ArgumentParser:
    """The command line; only the selected command's module is imported (and adds its options)."""
    root = argparse.ArgumentParser(prog="kserve-kit", description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    root.add_argument("--version", action="version", version=f"kserve-kit {__version__}")
    root.add_argument("--repo", type=Path, default=Path.cwd(), help="the service directory (default: here)")
    commands = root.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, command in COMMANDS.items():
        if name != selected:
            commands.add_parser(name, help=command.help)
            continue
        module = importlib.import_module(f"kserve_kit.{command.module}")
        sub = commands.add_parser(name, help=command.help, description=module.__doc__,
                                  formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
        getattr(module, command.add_arguments)(sub)
    return root


PASSTHROUGH = {"update"}  # the options it does not know go to the tool it wraps (copier update)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    command_line = parser(next((arg for arg in argv if arg in COMMANDS), None))
    args, unknown = command_line.parse_known_args(argv)
    if args.command in PASSTHROUGH:
        args.passthrough = unknown
    elif unknown:
        command_line.error(f"unrecognized arguments: {' '.join(unknown)}")
    command = COMMANDS[args.command]
    try:
        return int(getattr(importlib.import_module(f"kserve_kit.{command.module}"), command.run)(args))
    except KitError as error:
        print(f"{args.command}: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{args.command}: interrupted", file=sys.stderr)
        return 130


def cli() -> None:
    """The console entry: SIGTERM (an IDE's stop button, `timeout`, CI) stops a command as Ctrl-C
    does, so a local server it started is stopped and its working directory removed."""
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    sys.exit(main())


if __name__ == "__main__":
    cli()
