"""CLIP text encoding: tokenization and the exact fast paths over open_clip's text tower.

Imports only the base modules (``errors``, ``hooks``, ``devices``); everything else in
``ci_engine`` builds on it.
"""
