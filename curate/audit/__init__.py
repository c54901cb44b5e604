"""Novelty audits: match generated samples back to their nearest training images."""
