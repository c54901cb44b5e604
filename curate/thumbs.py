"""Images embedded in HTML reports as data URIs, so a report opens offline and can be mailed."""

import base64
import io

from PIL import Image


def data_uri(image: Image.Image, size: int, quality: int = 80) -> str:
    """A JPEG thumbnail at most `size` px on its long side, as a data: URI."""
    image = image.copy()
    image.thumbnail((size, size))
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=quality)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode()
