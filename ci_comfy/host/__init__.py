"""The pack's side of ComfyUI: model management, folders, progress, and the nodes' work."""
