-- version: 1
-- Dedupe result: one row per distinct stored image (images.id), rewritten by each dedupe run.
CREATE TABLE duplicates (
    id VARCHAR,               -- images.id
    cluster VARCHAR,          -- id of the cluster's kept member
    kind VARCHAR,             -- how this image joined its cluster: exact, perceptual, semantic; NULL for the kept one
    similarity FLOAT,         -- cosine similarity to the kept member (embedder vectors)
    cluster_size INTEGER,     -- images rows in the cluster, byte-identical copies included
    copies INTEGER,           -- images rows with exactly these bytes (1 = no byte-identical copy)
    keep BOOLEAN              -- the one member of the cluster that training uses
);
