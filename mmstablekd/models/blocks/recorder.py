"""Record the outputs of named submodules during a forward pass."""
from contextlib import contextmanager
from typing import Any, Dict, Iterable, Iterator, List, Optional

from torch import nn

from .direct_calls import register_direct_call_hooks
from .module_paths import get_module


class StopForward(Exception):
    """Raised by a :class:`OutputRecorder` once every output it needs is in."""


class OutputRecorder:
    """Forward hooks that store what the modules at ``paths`` return.

    Hooks are registered once; they only record inside :meth:`recording`, so
    evaluation and export see the plain model.

    Args:
        model (nn.Module): the network to tap.
        paths (list[str]): dotted module paths, e.g. ``['backbone.layer1']``.
        role (str): how error messages name the network (``'student'``).
        stop_when_complete (bool): end the forward pass (by raising
            :class:`StopForward`, caught by :meth:`recording`) as soon as
            every path needed (by default all) has produced its output, so
            that nothing after the last needed tap is computed. Used for the
            teacher.
        direct_calls (bool): also record a module that its parent runs
            through ``module.forward(x)``, which skips forward hooks (as
            MMDetection's detectors run their heads in ``'tensor'`` mode,
            MMSegmentation's segmentors in every mode): the module's
            ``forward`` is wrapped instead of hooked
            (:func:`register_direct_call_hooks`).
    """

    def __init__(self,
                 model: nn.Module,
                 paths: List[str],
                 role: str = 'model',
                 stop_when_complete: bool = False,
                 direct_calls: bool = False) -> None:
        self.paths = list(paths)
        self.stop_when_complete = stop_when_complete
        self.outputs: Dict[str, Any] = {}
        self._needed = set(self.paths)
        self._recording = False
        for path in dict.fromkeys(self.paths):
            module = get_module(model, path, role)
            if direct_calls:
                register_direct_call_hooks(module, post=self._make_hook(path))
            else:
                module.register_forward_hook(self._make_hook(path))

    def _make_hook(self, path: str):

        def hook(module, args, output):
            if not self._recording:
                return
            self.outputs[path] = output
            if self.stop_when_complete and self._needed <= self.outputs.keys():
                raise StopForward

        return hook

    @contextmanager
    def recording(self, needed: Optional[Iterable[str]] = None
                  ) -> Iterator[Dict[str, Any]]:
        """Record during the ``with`` body; yields the outputs by path.

        Args:
            needed: with ``stop_when_complete``, the paths whose outputs end
                the forward pass once all are in (default: every path).
        """
        self.outputs = {}
        self._needed = set(self.paths if needed is None else needed)
        self._recording = True
        try:
            yield self.outputs
        except StopForward:
            pass
        finally:
            self._recording = False
