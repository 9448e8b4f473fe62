"""Stand-in for comfy.model_patcher.ModelPatcher (the loading part)."""

from __future__ import annotations

import comfy.model_management


class ModelPatcher:
    def __init__(self, model, load_device, offload_device, size=0, weight_inplace_update=False):
        self.size = size
        self.model = model
        if not hasattr(self.model, "device"):
            self.model.device = offload_device
        elif self.model.device is None:
            self.model.device = offload_device
        self.load_device = load_device
        self.offload_device = offload_device
        self.parent = None
        self.model.model_loaded_weight_memory = 0
        self.model.lowvram_patch_counter = 0
        self.model.model_lowvram = False

    def model_size(self) -> int:
        if self.size > 0:
            return self.size
        self.size = comfy.model_management.module_size(self.model)
        return self.size

    def loaded_size(self) -> int:
        return self.model.model_loaded_weight_memory

    def current_loaded_device(self):
        return self.model.device

    def is_clone(self, other) -> bool:
        return hasattr(other, "model") and self.model is other.model

    def model_patches_to(self, device) -> None:
        pass

    def model_patches_models(self) -> list:
        return []

    def load(self, device_to=None, lowvram_model_memory=0, force_patch_weights=False, full_load=False):
        self.model.to(device_to)
        self.model.device = device_to
        self.model.model_lowvram = not full_load
        self.model.model_loaded_weight_memory = self.model_size()

    def detach(self, unpatch_all=True):
        self.model.to(self.offload_device)
        self.model.device = self.offload_device
        self.model.model_loaded_weight_memory = 0
        return self.model
