-- version: 2
-- Hierarchical captions (DESIGN.md section 5), one row per distinct stored image, one
-- partition per raw shard. Boxes are [x0, y0, x1, y1] in pixels of the stored image.
CREATE TABLE captions (
    id VARCHAR,               -- images.id
    status VARCHAR,           -- ok, undecodable, too_small (detectors skipped), banner (text only)
    error VARCHAR,            -- why, where status is not ok
    captioner VARCHAR,        -- 'template' or 'vlm:<dir>', plus the detectors that ran
    caption STRUCT(
        summary VARCHAR,
        medium VARCHAR,       -- photo, grayscale photo, drawing, painting, render, screenshot, document
        people STRUCT(
            box INTEGER[], face BOOLEAN, body VARCHAR,   -- body: full, upper, head, unknown (no pose found)
            arms STRUCT(side VARCHAR, visible BOOLEAN,
                        hand STRUCT(box INTEGER[], score FLOAT, side VARCHAR, fingers_extended INTEGER,
                                    fingers_visible INTEGER, countable BOOLEAN, visible BOOLEAN))[]
        )[],
        hands STRUCT(box INTEGER[], score FLOAT, side VARCHAR, fingers_extended INTEGER,
                     fingers_visible INTEGER, countable BOOLEAN, visible BOOLEAN)[],  -- hands no detected body owns
        counts STRUCT(people INTEGER, faces INTEGER, arms INTEGER, hands INTEGER, fingers_extended INTEGER),
        objects STRUCT(name VARCHAR, count INTEGER, boxes INTEGER[][], scores FLOAT[], fine VARCHAR)[],
        labels STRUCT(name VARCHAR, score FLOAT, source VARCHAR, coco VARCHAR, kind VARCHAR, "group" VARCHAR)[],
        text STRUCT(text VARCHAR, box INTEGER[], score FLOAT)[],
        uncertain VARCHAR[],
        provenance STRUCT(summary VARCHAR, medium VARCHAR, objects VARCHAR, labels VARCHAR, people VARCHAR, text VARCHAR)
    ),
    short VARCHAR,            -- one sentence
    dense VARCHAR,            -- every count, every quoted text
    people INTEGER,           -- flat copies of caption.counts for easy SQL
    faces INTEGER,
    hands INTEGER,
    fingers INTEGER,          -- extended fingers on countable hands
    text_in_image VARCHAR,    -- the text lines joined by ' | ' ('' when none)
    objects VARCHAR[],        -- names of what was counted (COCO and fine names, 'person'): list_contains(objects, 'dog')
    labels VARCHAR[]          -- the ImageNet head's names for the whole image, and their groups ('bird')
);
