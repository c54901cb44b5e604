"""curate: staged data jobs that turn scraped images into curated text-to-image training sets."""

__version__ = "0.1.0"

import os as _os

# albumentations (imported by img2dataset) phones home for updates on import; curate runs offline.
_os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
