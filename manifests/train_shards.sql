-- version: 1
-- `curate shard`: one row per image in a curated training shard set (shards/<set>/NNNNN.tar),
-- one partition per tar (part-<set>-NNNNN). `curate train` reads images by these offsets.
CREATE TABLE train_shards (
    id VARCHAR,               -- images.id
    shard_set VARCHAR,        -- the set's name: shards/<set>/ ('train' unless --name)
    shard_path VARCHAR,       -- the curated tar, relative to the dataset folder
    key VARCHAR,              -- WebDataset key in it: <key>.jpg|png|webp, <key>.txt, <key>.json
    "offset" BIGINT,          -- byte offset of the image's data in the tar
    size BIGINT,              -- the image's size in bytes (the stored bytes, not re-encoded)
    width INTEGER,
    height INTEGER,
    short VARCHAR,            -- one-sentence caption (also <key>.txt)
    dense VARCHAR,            -- dense caption (also in <key>.json)
    caption_used VARCHAR      -- where the captions came from: 'captions:<captioner>' or 'images.text'
);
