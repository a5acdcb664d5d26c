"""docs/questions.md, generated from copier.yml so the question reference cannot drift.

python -m extensions.questions_doc > docs/questions.md   (`make docs` does it)
"""

from __future__ import annotations

import inspect
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path

import jinja2
import yaml

from extensions import validation
from extensions.copier_hooks import RUNTIME_CHOICES, question_choices
from extensions.profile import DEFAULT_PLATFORM, load_profile

COPIER_YML = Path(__file__).resolve().parent.parent / "copier.yml"
TABLE_HEADER = "| Question | Type | Default | Asked when | Rule |"


def _cell(text: str) -> str:
    text = " ".join(str(text).split()).replace("|", "\\|")
    return text.replace("<", "&lt;").replace(">", "&gt;")


def rule(validator: Callable[..., str], arguments: str) -> str:
    """The validator's docstring's first paragraph, with its literal arguments (numbers) in place of
    their parameters' names: "A whole number from `low` to `high`." -> "... from `0` to `1024`."."""
    text = (validator.__doc__ or validator.__name__).strip().split("\n\n")[0]
    parameters = inspect.signature(validator).parameters
    for name, value in zip(parameters, (a.strip() for a in arguments.split(",")), strict=False):
        if value.isdigit():
            text = text.replace(f"`{name}`", f"`{value}`")
    return text


def questions_doc(copier_yml: Path = COPIER_YML) -> str:
    config = yaml.safe_load(copier_yml.read_text(encoding="utf-8"))
    platforms, environments = question_choices(DEFAULT_PLATFORM)
    help_context = {
        "platform_profile": load_profile(DEFAULT_PLATFORM),
        "platform_choices": platforms,
        "environment_choices": environments,
        "runtime_choices": RUNTIME_CHOICES,
    }
    lines = [
        "# Questions",
        "",
        "Generated from `copier.yml` by `extensions/questions_doc.py` (`make docs`); a test fails when it",
        f"is out of date. Help text shown with the `{DEFAULT_PLATFORM}` platform profile.",
        "",
    ]
    group = None
    for name, question in config.items():
        if name.startswith("_"):
            continue
        help_text = jinja2.Template(question.get("help", "")).render(help_context)
        match = re.match(r"\[(\w+)\]\s*(.*)", help_text, re.DOTALL)
        section, help_text = (match.group(1), match.group(2)) if match else ("other", help_text)
        if section != group:
            group = section
            lines += [""] if lines[-1] else []
            lines += [f"## {section.capitalize()}", "", TABLE_HEADER, "|---|---|---|---|---|"]
        choices = question.get("choices")
        if isinstance(choices, str):  # computed by the kit's extension (profile, runtime entries)
            choices = json.loads(jinja2.Template(choices).render(help_context))
        kind = question.get("type", "str")
        if choices:
            values = choices.values() if isinstance(choices, dict) else choices
            kind += ": " + ", ".join(f"`{value}`" for value in values)
        calls = re.findall(r"(\w+_error)\(([^)]*)\)", question.get("validator", ""))
        rules = "; ".join(_cell(rule(getattr(validation, fn), arguments)) for fn, arguments in calls)
        when = question.get("when", "always")
        lines.append(
            f"| `{name}`: {_cell(help_text)} | {kind} | `{_cell(question.get('default', ''))}` "
            f"| {'always' if when == 'always' else f'`{_cell(when)}`'} | {rules or 'one of the choices'} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(questions_doc())
