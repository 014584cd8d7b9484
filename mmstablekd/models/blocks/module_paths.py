"""Look up submodules by dotted path, with errors that suggest real paths."""
import difflib

from torch import nn


def get_module(model: nn.Module, path: str, role: str = 'model') -> nn.Module:
    """Return ``model``'s submodule at ``path`` (e.g. ``'backbone.layer1'``).

    Raises:
        ValueError: if there is no such submodule; the message lists the
            closest existing paths.
    """
    modules = dict(model.named_modules())
    if path in modules and path:
        return modules[path]
    close = difflib.get_close_matches(path, list(modules), n=5, cutoff=0.5)
    hint = f' Closest existing paths: {close}.' if close else ''
    top = [name for name in modules if name and '.' not in name]
    raise ValueError(
        f'The {role} ({type(model).__name__}) has no module at {path!r}.'
        f'{hint} Top-level modules: {top}. Use the dotted names printed by '
        f'`model.named_modules()` (or tools/analysis/inspect_blocks.py).')


def is_ancestor(parent: str, child: str) -> bool:
    """Whether module path ``parent`` strictly contains ``child``."""
    return child.startswith(parent + '.')
