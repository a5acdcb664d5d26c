"""Copier's entry point into the kit's logic: `KitExtension`, listed in `_jinja_extensions` of copier.yml.

It exposes the validators and the `toyaml` and `quoted` filters to copier.yml and the templates, and
puts the platform profile and every derived value (`kit`) into each render. One class, so Copier
loads this module (and the profile) once per template version.
"""

from __future__ import annotations

import functools
import importlib
import json
import shutil
import sys
import textwrap
from pathlib import Path
from typing import Any

import yaml
from copier_template_extensions import ContextHook
from jinja2 import Environment


def _import_kit_modules() -> tuple[Any, Any, Any, Any]:
    """Import this template's own `extensions` package, whatever else is loaded.

    Copier loads this file by path, and `copier update` loads two versions of the template in one
    process: each must see its own modules, so any cached `extensions` package is set aside while
    importing and put back afterwards. The same holds for `kserve_kit` (the extensions use its
    admission rules, kserve_kit/admission/): a service's `kserve-kit update` has its own, older one loaded.
    """
    template_root = str(Path(__file__).resolve().parent.parent)

    def ours(module: str) -> bool:
        return any(module == package or module.startswith(f"{package}.") for package in ("extensions", "kserve_kit"))

    saved = {name: sys.modules.pop(name) for name in list(sys.modules) if ours(name)}
    sys.path.insert(0, template_root)
    try:
        from extensions import derive, profile, runtimes, validation
    finally:
        sys.path.remove(template_root)
        for name in [name for name in sys.modules if ours(name)]:
            del sys.modules[name]
        sys.modules.update(saved)
    return derive, profile, runtimes, validation


derive, profile, runtimes, validation = _import_kit_modules()


class _BlockStyleDumper(yaml.SafeDumper):
    """Writes multi-line strings as `|` blocks, so rendered templates stay readable."""


_BlockStyleDumper.add_representer(
    str,
    lambda dumper, text: dumper.represent_scalar("tag:yaml.org,2002:str", text, style="|" if "\n" in text else None),
)


def to_yaml(value: Any, indent: int = 0) -> str:
    """YAML for a mapping or list, every line indented by `indent` spaces (first line included)."""
    text = yaml.dump(value, Dumper=_BlockStyleDumper, default_flow_style=False, sort_keys=False, width=1000).rstrip(
        "\n"
    )
    return "\n".join(" " * indent + line for line in text.splitlines())


_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _printable(character: str) -> bool:
    """Characters YAML allows unescaped (YAML 1.1 "printable", BOM excluded)."""
    code = ord(character)
    return (
        0x20 <= code <= 0x7E
        or 0xA0 <= code <= 0xD7FF
        or 0xE000 <= code <= 0xFFFD
        and code != 0xFEFF
        or 0x10000 <= code <= 0x10FFFF
    )


def quoted(value: Any) -> str:
    """A double-quoted string literal that YAML, TOML and Python all read back as exactly `value`.

    Jinja's `tojson` writes characters outside the BMP as surrogate pairs, which TOML rejects and
    Python and YAML decode into two broken characters; this escapes only what must be escaped.
    None becomes YAML's `null`.
    """
    if value is None:
        return "null"
    parts = []
    for character in str(value):
        if character in _ESCAPES:
            parts.append(_ESCAPES[character])
        elif _printable(character):
            parts.append(character)
        elif ord(character) <= 0xFFFF:
            parts.append(f"\\u{ord(character):04x}")
        else:
            parts.append(f"\\U{ord(character):08x}")
    return '"' + "".join(parts) + '"'


@functools.cache
def question_choices(platform: str) -> tuple[str, str]:
    """The `platform` and `environment` question choices, as the YAML (JSON) text copier.yml reads."""
    environments = profile.load_profile(platform)["environments"]
    return json.dumps(list(profile.available_platforms())), json.dumps(
        {f"{env} ({facts['generation']})": env for env, facts in environments.items()}
    )


# The `runtime` question's choices and the runtimes that can use a GPU, from the runtime entries.
RUNTIME_CHOICES = json.dumps({entry.label: name for name, entry in runtimes.RUNTIMES.items()})
GPU_RUNTIMES = [name for name, entry in runtimes.RUNTIMES.items() if entry.supports_gpu]
BATCHING_RUNTIMES = [name for name, entry in runtimes.RUNTIMES.items() if entry.batches]
# Those whose batches wait for requests to gather (KServe's batcher sidecar, TorchServe's batchSize).
WAITING_BATCH_RUNTIMES = [name for name in BATCHING_RUNTIMES if not runtimes.RUNTIMES[name].batches_in_process]
GPU_ONLY_RUNTIMES = [name for name, entry in runtimes.RUNTIMES.items() if entry.requires_gpu]
# Those whose server answers KServe's V1/V2 routes, and those whose image the repo builds.
PROTOCOL_RUNTIMES = [name for name, entry in runtimes.RUNTIMES.items() if entry.protocols]
IMAGE_RUNTIMES = [name for name, entry in runtimes.RUNTIMES.items() if entry.builds_image]
RUNTIME_LISTS = {
    "runtime_choices": RUNTIME_CHOICES, "gpu_runtimes": GPU_RUNTIMES, "batching_runtimes": BATCHING_RUNTIMES,
    "waiting_batch_runtimes": WAITING_BATCH_RUNTIMES, "gpu_only_runtimes": GPU_ONLY_RUNTIMES,
    "protocol_runtimes": PROTOCOL_RUNTIMES, "image_runtimes": IMAGE_RUNTIMES,
}  # fmt: skip
# What the hook puts into a context (derive() reads none of it).
HOOK_KEYS = {*RUNTIME_LISTS, "platform_choices", "environment_choices", "platform_profile", "kit"}


def answer_like(name: str, value: Any) -> bool:
    """Whether derive() may read this entry of a context: the answers and Copier's record of them, not
    the functions, Copier's per-file state or what the hook adds."""
    return name not in HOOK_KEYS and not callable(value) and (not name.startswith("_") or name == "_copier_answers")


def wrap_validation_errors() -> None:
    """Copier's wizard (questionary on prompt_toolkit) shows a refused answer's message on ONE fixed
    line, after "Validation error for question '<name>': ", so anything past 80 columns, the fix
    included, is cut off. Show it wrapped over as many lines as it needs instead. Only this Copier
    process is affected; if prompt_toolkit changes shape, this does nothing (tests/test_wizard.py)."""
    try:
        from prompt_toolkit.application import get_app
        from prompt_toolkit.filters import has_validation_error
        from prompt_toolkit.layout import ConditionalContainer, FormattedTextControl, Window
        from prompt_toolkit.widgets.toolbars import ValidationToolbar

        prompt_module = importlib.import_module("prompt_toolkit.shortcuts.prompt")
    except ImportError:
        return

    class WrappingValidationToolbar(ValidationToolbar):
        def __init__(self, show_position: bool = False) -> None:
            super().__init__(show_position)
            one_line = self.control.text

            def wrapped() -> Any:
                width = max(get_app().output.get_size().columns - 1, 20)
                return [(style, "\n".join(textwrap.wrap(text, width))) for style, text, *_ in one_line()]

            self.control = FormattedTextControl(wrapped)
            self.container = ConditionalContainer(Window(self.control), filter=has_validation_error)

    if getattr(prompt_module, "ValidationToolbar", None) is ValidationToolbar:
        prompt_module.ValidationToolbar = WrappingValidationToolbar  # type: ignore[misc]


def wrap_question_help() -> None:
    """Copier shows a question's help as the prompt's message, which questionary draws one line per
    line, cut at the terminal's width: the namespace's hostname rule, the cold-start warning of
    min_replicas and the allowed registries were lost. Wrap each help to the terminal's width
    instead. Only this Copier process is affected; tests/test_wizard.py checks the whole help shows."""
    try:
        from copier import _user_data
    except ImportError:
        return
    original = _user_data.Question.get_message
    if getattr(original, "wraps_help", False):
        return

    def get_message(question: Any) -> str:
        message = original(question)
        body = message.rstrip()
        width = max(shutil.get_terminal_size().columns - 1, 20)
        lines = [textwrap.fill(line, width, break_on_hyphens=False) for line in body.splitlines()]
        return "\n".join(lines) + message[len(body) :]

    get_message.wraps_help = True  # type: ignore[attr-defined]
    _user_data.Question.get_message = get_message  # type: ignore[method-assign]


class KitExtension(ContextHook):
    """Validators (each returns "" or an error message) and filters; `platform_profile`, the question
    choices it defines, and `kit` (derived values) in every render.

    Copier calls `hook` for every string it renders (hundreds per copy): keep it cheap.
    """

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        self.derived: dict[str, dict[str, Any] | None] = {}  # derive()'s results by context (_derived)
        wrap_validation_errors()
        wrap_question_help()
        environment.filters["toyaml"] = to_yaml
        environment.filters["quoted"] = quoted
        for name in (
            "platform_error",
            "destination_error",
            "service_name_error",
            "namespace_error",
            "label_value_error",
            "description_error",
            "quantity_error",
            "resources_error",
            "replicas_error",
            "whole_number_error",
            "storage_uri_error",
            "image_repository_error",
            "pull_secret_default",
            "pull_secret_error",
            "vault_path_error",
            "vault_error",
            "gpu_error",
            "model_storage_error",
            "storage_uri_default",
            "vault_storages",
            "duration_error",
            "at_least",
            "fitting_namespace",
        ):
            environment.globals[name] = getattr(validation, name)
        environment.globals["deployment_mode"] = profile.deployment_mode
        environment.globals["default_batch_size"] = runtimes.default_batch_size
        environment.globals["default_request"] = runtimes.default_request

    def hook(self, context: dict[str, Any]) -> None:
        context.update(RUNTIME_LISTS)
        platform = context.get("platform") or profile.DEFAULT_PLATFORM
        try:
            context["platform_choices"], context["environment_choices"] = question_choices(platform)
        except ValueError:
            context["platform_choices"] = question_choices(profile.DEFAULT_PLATFORM)[0]
            return  # the platform question's validator reports it
        context["platform_profile"] = profile.load_profile(platform)
        derived = self._derived(context)
        if derived is not None:
            context["kit"] = derived

    def _derived(self, context: dict[str, Any]) -> dict[str, Any] | None:
        """derive() once per distinct context: Copier renders hundreds of strings with the same answers.
        None while questions are still being asked (not every answer exists yet: no `kit` then)."""
        key = repr(sorted((name, value) for name, value in context.items() if answer_like(name, value)))
        if key not in self.derived:
            try:
                self.derived[key] = derive.derive(context)
            except (KeyError, ValueError):
                self.derived[key] = None
        return self.derived[key]
