-- version: 1
-- One vector per stored image and embedder.
CREATE TABLE embeddings (
    id VARCHAR,               -- images.id
    embedder VARCHAR,         -- e.g. 'efficientnet-lite0'; an index never mixes two
    vector FLOAT[]            -- L2-normalised (cast to FLOAT[dim] for DuckDB's array functions)
);
