"""Dense hierarchical captions grounded in detectors (DESIGN.md section 5)."""
