"""Make `import torchvision` work with the CPU build of torch.

torchvision 0.28.0 is the only release for torch 2.13.0, and PyPI ships only its CUDA build.
Against the CPU torch its import dies registering fake kernels for `torchvision::nms`, an
operator whose schema lives in the missing compiled extension. Declaring the two schemas
ourselves lets the import finish: transforms and models work, compiled ops raise if called.
Where torchvision imports normally (a CUDA machine) this module does nothing.

Import it before anything that may import torchvision (timm, open_clip, transformers,
diffusers): the CLI, the test session and every Dask worker do.
"""

import sys

_SCHEMAS = (
    "nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
)
_library = None  # kept alive: dropping the Library object would unregister the schemas


def _forget_torchvision() -> None:
    for name in [n for n in sys.modules if n == "torchvision" or n.startswith("torchvision.")]:
        del sys.modules[name]


def install() -> None:
    global _library
    from curate import torchvision_hook

    torchvision_hook.uninstall()  # imported first (conftest, the CLI), the repair runs here, not lazily
    try:
        import torchvision  # noqa: F401
        return
    except ImportError:
        return  # not installed: nothing to repair
    except RuntimeError as err:
        if "torchvision::nms does not exist" not in str(err):
            raise
    import torch

    _forget_torchvision()
    _library = torch.library.Library("torchvision", "FRAGMENT")
    for schema in _SCHEMAS:
        _library.define(schema)
    import torchvision  # noqa: F401,F811


install()
