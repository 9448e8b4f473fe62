"""Stand-in for ComfyUI's nodes module: the registry that prompt validation reads."""

NODE_CLASS_MAPPINGS: dict = {}
