"""img2dataset's Resizer behind a header check, so hostile files fail cheaply and clearly.

The check reads only the image header (Pillow): files that are not images, decompression
bombs (a small file declaring billions of pixels) and truncated JPEG/PNG files are refused
before OpenCV allocates or decodes anything. Formats OpenCV cannot decode but Pillow can
(GIF, animated or not: its first frame; AVIF, ICO, TGA) are handed to it as PNG; formats
nothing installed decodes (SVG, HEIC, JPEG XL; no new dependency for them) are refused as
unsupported_format.
"""

import io

from img2dataset.resizer import Resizer
from PIL import Image

from curate.raw import to_rgb

TOO_LARGE = "too large to decode safely"
TRUNCATED = "truncated image"
UNSUPPORTED = "unsupported format"
# Pillow's own default bomb limit (~89 Mpx), so a photo that Pillow opens, we open too.
DEFAULT_MAX_PIXELS = Image.MAX_IMAGE_PIXELS
_END_MARKERS = {"JPEG": b"\xff\xd9", "PNG": b"IEND"}
OPENCV_FORMATS = {"JPEG", "PNG", "WEBP", "TIFF", "BMP", "PPM"}  # what img2dataset's cv2.imdecode reads
_HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs", b"mif1", b"msf1"}


def unsupported_format(data: bytes) -> str | None:
    """The name of a known image format that no installed decoder reads, or None."""
    head = data[:1024].lstrip()
    if head[:5].lower() == b"<?xml" or head[:4].lower() == b"<svg":
        if b"<svg" in data[:65536].lower():
            return "SVG"
    if data[4:8] == b"ftyp" and data[8:12] in (b"avif", b"avis"):
        return "AVIF"  # when Pillow was built without it
    if data[4:8] == b"ftyp" and data[8:12] in _HEIF_BRANDS:
        return "HEIF/HEIC"
    if data[:2] == b"\xff\x0a" or data[:12] == b"\x00\x00\x00\x0cJXL \r\n\x87\n":
        return "JPEG XL"
    return None


def identify(data: bytes, max_pixels: int) -> tuple[str | None, str | None]:
    """(Pillow's format name, None), or (None, why these bytes must not be decoded)."""
    if not data:
        return None, "empty file"
    try:
        with Image.open(io.BytesIO(data)) as im:
            width, height, fmt = *im.size, im.format
    except Image.DecompressionBombError as err:
        return None, f"{TOO_LARGE}: {err}"
    except Image.UnidentifiedImageError:
        known = unsupported_format(data)
        if known:
            return None, f"{UNSUPPORTED}: {known} (no decoder for it is installed)"
        return None, "not an image: no known image format recognised"
    except Exception as err:  # noqa: BLE001 - any parser error means "not an image we can read"
        return None, f"cannot identify image: {err}"
    if width * height > max_pixels:
        return None, f"{TOO_LARGE}: {width}x{height} pixels, limit {max_pixels}"
    marker = _END_MARKERS.get(fmt)
    # The end marker sits in the last bytes; trailing metadata after it is rare but allowed.
    if marker and marker not in data[-4096:]:
        return None, f"{TRUNCATED}: {fmt} data ends before its end marker"
    return fmt, None


def as_png(data: bytes) -> bytes:
    """The first frame, transparency matted on white (as img2dataset does), as PNG."""
    with Image.open(io.BytesIO(data)) as im:
        out = io.BytesIO()
        to_rgb(im).save(out, "PNG", compress_level=1)
    return out.getvalue()


class SafeResizer(Resizer):
    def __init__(self, *args, max_pixels: int = DEFAULT_MAX_PIXELS, **kwargs):
        super().__init__(*args, **kwargs)
        self.max_pixels = max_pixels

    def __call__(self, img_stream, blurring_bbox_list=None):
        img_stream.seek(0)
        data = img_stream.read()
        fmt, problem = identify(data, self.max_pixels)
        if problem:
            return None, None, None, None, None, problem
        if fmt not in OPENCV_FORMATS:
            try:
                img_stream = io.BytesIO(as_png(data))
            except Exception as err:  # noqa: BLE001 - the image's own error, as img2dataset reports it
                return None, None, None, None, None, f"{fmt} image does not decode: {err}"
        img_stream.seek(0)
        return super().__call__(img_stream, blurring_bbox_list)
