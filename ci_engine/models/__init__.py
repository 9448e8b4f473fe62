"""Models: the registry of known names, hub lookups, and loading CLIP and caption models.

Imports the base modules and ``ci_engine.text``; never the interrogation core above it.
"""
