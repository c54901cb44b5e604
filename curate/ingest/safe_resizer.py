"""img2dataset's Resizer behind a header check, so hostile files fail cheaply and clearly.

The check reads only the image header (Pillow): files that are not images, decompression
bombs (a small file declaring billions of pixels) and truncated JPEG/PNG files are refused
before OpenCV allocates or decodes anything.
"""

import io

from img2dataset.resizer import Resizer
from PIL import Image

TOO_LARGE = "too large to decode safely"
TRUNCATED = "truncated image"
# Pillow's own default bomb limit (~89 Mpx), so a photo that Pillow opens, we open too.
DEFAULT_MAX_PIXELS = Image.MAX_IMAGE_PIXELS
_END_MARKERS = {"JPEG": b"\xff\xd9", "PNG": b"IEND"}


def header_problem(data: bytes, max_pixels: int) -> str | None:
    """Why these bytes must not be decoded, or None."""
    if not data:
        return "empty file"
    try:
        with Image.open(io.BytesIO(data)) as im:
            width, height, fmt = *im.size, im.format
    except Image.DecompressionBombError as err:
        return f"{TOO_LARGE}: {err}"
    except Image.UnidentifiedImageError:
        return "not an image: no known image format recognised"
    except Exception as err:  # noqa: BLE001 - any parser error means "not an image we can read"
        return f"cannot identify image: {err}"
    if width * height > max_pixels:
        return f"{TOO_LARGE}: {width}x{height} pixels, limit {max_pixels}"
    marker = _END_MARKERS.get(fmt)
    # The end marker sits in the last bytes; trailing metadata after it is rare but allowed.
    if marker and marker not in data[-4096:]:
        return f"{TRUNCATED}: {fmt} data ends before its end marker"
    return None


class SafeResizer(Resizer):
    def __init__(self, *args, max_pixels: int = DEFAULT_MAX_PIXELS, **kwargs):
        super().__init__(*args, **kwargs)
        self.max_pixels = max_pixels

    def __call__(self, img_stream, blurring_bbox_list=None):
        img_stream.seek(0)
        problem = header_problem(img_stream.read(), self.max_pixels)
        if problem:
            return None, None, None, None, None, problem
        img_stream.seek(0)
        return super().__call__(img_stream, blurring_bbox_list)
