"""Apply the torchvision repair (curate.torchvision_compat) in any Python of the venv, lazily.

setup.sh installs `curate-torchvision.pth` (this package's `torchvision.pth`) into the venv's
site-packages; its one line runs `install()` at interpreter start-up. That costs no import: a
finder waits on `sys.meta_path` for the first `import torchvision` (diffusers, transformers,
timm do it) and only then runs the repair, so `python -c "import diffusers"` works in the venv
without importing curate first, and Pythons that never touch torchvision pay nothing.
"""

import importlib.abc
import importlib.machinery
import importlib.util
import sys


class _RepairOnImport(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, name, path=None, target=None):
        """torchvision's own spec (libraries probe it with importlib.util.find_spec before they
        import), with this loader in place of its own."""
        if name != "torchvision":
            return None
        sys.meta_path.remove(self)
        try:
            spec = importlib.util.find_spec(name)
        finally:
            sys.meta_path.insert(0, self)
        if spec is not None:
            spec.loader = self
        return spec

    def create_module(self, spec):
        sys.meta_path.remove(self)  # the repair imports torchvision itself, through the normal finders
        from curate import torchvision_compat  # noqa: F401  (imports torchvision, repaired where it must be)

        module = sys.modules["torchvision"]
        self._real = module.__spec__
        return module

    def exec_module(self, module):
        module.__spec__, module.__loader__ = self._real, self._real.loader  # the import system set ours


def uninstall() -> None:
    """Take the finder off: the repair about to import torchvision itself must not meet it."""
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _RepairOnImport)]


def install() -> None:
    if "torchvision" not in sys.modules and not any(isinstance(f, _RepairOnImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _RepairOnImport())
