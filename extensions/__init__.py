"""The kit's logic: platform profiles, answer validation and every derived value.

Copier loads `extensions/copier_hooks.py` (see `_jinja_extensions` in copier.yml); the kit's tests
import these modules directly.
"""
