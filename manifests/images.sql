-- version: 1
-- One row per input item (URL, file or archive member), failures included.
CREATE TABLE images (
    id VARCHAR,               -- sha256 hex of the stored image bytes; NULL when nothing was stored
    source VARCHAR,           -- where the input came from: 'urls:<list>', 'folder:<dir>', 'tar:<archive>'
    url VARCHAR,              -- the URL fetched (file:// for folders, tar:// for archive members)
    text VARCHAR,             -- caption or alt-text that came with the image
    width INTEGER,            -- stored image size
    height INTEGER,
    original_width INTEGER,   -- size before img2dataset's resize
    original_height INTEGER,
    format VARCHAR,           -- stored format: jpeg, png, webp
    bytes BIGINT,             -- stored size in bytes
    status VARCHAR,           -- 'ok' or why not: download_failed, disallowed, decode_failed, unsupported_format, too_large, filtered
    error VARCHAR,            -- the error message when status is not 'ok'
    shard VARCHAR,            -- raw shard name (raw/<shard>.tar)
    key VARCHAR,              -- WebDataset key inside the shard
    license VARCHAR           -- license where the source said
);
