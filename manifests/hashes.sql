-- version: 1
-- Content fingerprints of each distinct stored image, written by ingest (which decodes every
-- image anyway), for the exact and perceptual dedupe tiers.
CREATE TABLE hashes (
    id VARCHAR,               -- images.id
    pixel_sha256 VARCHAR,     -- sha256 of the decoded RGB pixels and size
    phash BIGINT,             -- 64-bit DCT perceptual hash (bits as a signed integer)
    dhash BIGINT              -- 64-bit gradient hash
);
