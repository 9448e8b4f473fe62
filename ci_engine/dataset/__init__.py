"""Captioning whole folders: sidecar ``.txt`` files, a manifest, resume; one process or Ray."""
