-- version: 1
-- Content fingerprints of each stored image (written by the embed stage), for exact and
-- perceptual dedupe.
CREATE TABLE hashes (
    id VARCHAR,               -- images.id
    pixel_sha256 VARCHAR,     -- sha256 of the decoded RGB pixels and size
    phash BIGINT,             -- 64-bit DCT perceptual hash (bits as a signed integer)
    dhash BIGINT              -- 64-bit gradient hash
);
