"""Filter scores as columns (manifests/scores, `curate score`): nsfw and its classes, quality
(BRISQUE), text_area, sharpness and blur, each with the model and version that made it. A query
chooses what to train on (`curate shard --where "nsfw < 0.2 AND quality < 40"`); nothing is
ever deleted by a score. The stage is stage.py; this module stays light, for shard and train."""

from curate import manifests

NOT_SCORES = ("id", "status", "error", "provenance")


def columns() -> tuple[str, ...]:
    """The score columns of manifests/scores.sql, the one definition."""
    return tuple(n for n in manifests.schema("scores").names if n not in NOT_SCORES)
