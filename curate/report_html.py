"""What the HTML reports (dedupe, captions, audit) share: the page style and images embedded
as data URIs, so a report opens offline and can be mailed around."""

import base64
import io
from pathlib import Path

from PIL import Image

THUMB = 160  # px, the long side of a thumbnail in a report

STYLE = """
body{font-family:system-ui,sans-serif;margin:24px;background:#fafafa;color:#222}
.cluster{background:#fff;border:1px solid #ddd;border-radius:8px;padding:12px;margin:0 0 18px}
.members{display:flex;flex-wrap:wrap;gap:10px}
figure{margin:0;width:%dpx;font-size:12px;text-align:center}
figure img{max-width:%dpx;max-height:%dpx;border:3px solid transparent;border-radius:4px;background:#eee}
figure.keep img{border-color:#2a9d3a} .kind{font-weight:600}
""" % (THUMB, THUMB, THUMB)


def data_uri(image: Image.Image, size: int, quality: int = 80) -> str:
    """A JPEG thumbnail at most `size` px on its long side, as a data: URI."""
    image = image.copy()
    image.thumbnail((size, size))
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=quality)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode()


def write_page(root: Path, name: str, parts: list[str]) -> Path:
    """A dataset's report page, `reports/<name>.html`, from its HTML parts."""
    out = Path(root) / "reports" / f"{name}.html"
    out.parent.mkdir(exist_ok=True)
    out.write_text("\n".join(parts))
    return out
