"""The bundled text-to-image model: diffusers trainer, sampler and novelty audit (coming in the model issue)."""
