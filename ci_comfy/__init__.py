"""The ComfyUI layer: everything of the pack that imports ComfyUI.

- ``host/`` does the work against ComfyUI: its model management and folders, progress and
  Cancel, and the features that differ between ComfyUI versions (``host/compat.py``).
- ``nodes/`` declares the nodes (V3 schema): one file per node group, the inputs they share in
  ``nodes/inputs.py``. A node's ``execute`` reads its inputs and calls ``host``.

The root ``nodes.py`` lists the nodes; the root ``__init__.py`` is ComfyUI's entry point.
"""
