-- version: 1
-- Filter scores as columns, one row per distinct stored image, one partition per raw shard.
-- Nothing is deleted by a score: `curate shard --where` picks by them. NULL where status is not ok.
CREATE TABLE scores (
    id VARCHAR,               -- images.id
    status VARCHAR,           -- ok, undecodable, too_small (under 16 px a side)
    error VARCHAR,            -- why, where status is not ok
    nsfw FLOAT,               -- 0-1, nsfw_porn + nsfw_hentai + nsfw_sexy (nsfwjs MobileNetV2)
    nsfw_drawing FLOAT,       -- the model's five class probabilities (they sum to 1)
    nsfw_hentai FLOAT,
    nsfw_neutral FLOAT,
    nsfw_porn FLOAT,
    nsfw_sexy FLOAT,
    quality FLOAT,            -- BRISQUE, lower is better: ~0 clean, ~100 badly distorted (can leave 0-100)
    text_area FLOAT,          -- 0-1, share of the image inside OCR text boxes (overlay, watermark)
    sharpness FLOAT,          -- variance of the Laplacian at 512 px, higher is sharper (0 = flat)
    blur FLOAT,               -- 0-1 blur effect (Crete-Roffet) at 512 px, higher is blurrier
    aesthetic FLOAT,          -- opt-in only (--aesthetic HEAD): your head on your embeddings; NULL otherwise
    provenance STRUCT(nsfw VARCHAR, quality VARCHAR, text_area VARCHAR, sharpness VARCHAR, blur VARCHAR,
                      aesthetic VARCHAR)  -- model and version per score
);
