-- version: 2
-- Images made by `curate sample`, one row per (prompt, seed); lives in the sample output folder.
CREATE TABLE samples (
    sample_id VARCHAR,        -- hash of (model weights, prompt, negative, seed, steps, scheduler, guidance); also the PNG's name
    prompt VARCHAR,
    negative VARCHAR,
    seed BIGINT,
    guidance FLOAT,
    steps INTEGER,
    scheduler VARCHAR,        -- ddim or dpm (DPM-Solver++)
    model VARCHAR,            -- the model folder
    path VARCHAR,             -- the PNG, relative to the output folder
    grain FLOAT               -- residual pixel-scale noise, mean |x - blur3x3(x)| in [0, 1] (model.grain; v2)
);
