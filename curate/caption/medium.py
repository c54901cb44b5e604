# TEMPORARY until the labels branch lands
import numpy as np
def classify(image):
    small = image[:: max(1, image.shape[0] // 128), :: max(1, image.shape[1] // 128)].reshape(-1, 3).astype(np.int64)
    q = small >> 2
    codes = q[:, 0] << 16 | q[:, 1] << 8 | q[:, 2]
    top = np.sort(np.unique(codes, return_counts=True)[1])[::-1][:12].sum() / len(codes)
    if top > 0.5:
        return "drawing", 1.0
    if np.abs(small - small.mean(1, keepdims=True)).mean() < 2.0:
        return "grayscale photo", 1.0
    return "photo", 1.0
