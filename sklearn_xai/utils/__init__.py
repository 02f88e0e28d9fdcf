"""Shared helpers: input validation and private scikit-learn shims."""

from ._validation import ImageLayout, check_image_shape, validate_images

__all__ = ["ImageLayout", "check_image_shape", "validate_images"]
