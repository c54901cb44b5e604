-- version: 3
-- `curate audit`: one row per (sample, nearest training image), rank 1..k by embedding cosine
-- (matched 'training' or 'index'), and one per sample for the nearest removed duplicate;
-- lives in the audit's output folder (the samples folder by default), beside report.html.
CREATE TABLE audit (
    sample_id VARCHAR,            -- samples.sample_id (the image file's stem for folders without a manifest)
    nearest_id VARCHAR,           -- images.id of the training image
    rank INTEGER,                 -- 1 = the sample's nearest training image by embedding cosine
    similarity FLOAT,             -- embedding cosine, sample vs training image (the index's embedder)
    tile_l2 FLOAT,                -- Carlini's tiled L2: max over a 4x4 grid of per-tile RMS pixel distance in [0, 1]
    verdict VARCHAR,              -- this pair: novel, near or copy (thresholds: README 'Audit')
    nearest_cluster_size INTEGER, -- images rows in the training image's duplicate cluster before dedupe
    decisive BOOLEAN,             -- the row that sets the sample's verdict (one per sample)
    text_noise FLOAT,             -- ||eps(x_T, prompt) - eps(x_T, '')|| at the first step; NULL if not our model's
    embedder VARCHAR,             -- the embedder of the index searched
    matched VARCHAR,              -- what nearest_id was searched in: training (the model's shard set), index
                                  -- (every indexed image), removed_duplicate (dedupe removed it from the training set)
    nearest_url VARCHAR,          -- images.url of nearest_id
    nearest_license VARCHAR,      -- images.license of nearest_id, where the source said
    coarse_l2 FLOAT               -- tiled L2 of both images averaged over 4x4 pixel blocks (sampler grain averaged out)
);
