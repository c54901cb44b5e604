"""The one crop every training image gets: scaled to cover the bucket's size, then centre-cropped.
Images (curate_model.data.fit), loss weight maps (curate_model.regions) and SDXL's size and crop
conditioning all take it from here, so they agree to the pixel."""


def cover(image_size: tuple[int, int], size: tuple[int, int]) -> tuple[float, int, int]:
    """(scale, left, top) that fit an image of `image_size` (w, h) to `size` (w, h): the scale
    that covers it, and the crop's top-left corner in the scaled image."""
    (iw, ih), (w, h) = image_size, size
    scale = max(w / iw, h / ih)
    return scale, (max(w, round(iw * scale)) - w) // 2, (max(h, round(ih * scale)) - h) // 2


def sdxl_time_ids(image_size: tuple[int, int], size: tuple[int, int]) -> list[int]:
    """SDXL's micro-conditioning of one training image: original size (h, w), crop top-left
    (top, left) in the scaled image, target size (h, w), as its training scripts compute them."""
    (iw, ih), (w, h) = image_size, size
    _, left, top = cover(image_size, size)
    return [ih, iw, top, left, h, w]
