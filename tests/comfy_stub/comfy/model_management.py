"""Stand-in for comfy.model_management: the device, loading and interrupt API the pack uses."""

from __future__ import annotations

import weakref

import torch

LOAD_CALLS: list[dict] = []  # test-only record of load_models_gpu calls (weak, like the rest)
current_loaded_models: list[LoadedModel] = []
interrupt_processing = False


class InterruptProcessingException(BaseException):  # 0.38 (0.3.6x: Exception)
    pass


OOM_EXCEPTION = torch.cuda.OutOfMemoryError
FREE_CALLS: list[dict] = []  # test-only record of free_memory calls


def is_oom(e) -> bool:
    """0.38: torch's OOM, or an accelerator error that says it ran out of memory."""
    if isinstance(e, OOM_EXCEPTION):
        return True
    return isinstance(e, RuntimeError) and "out of memory" in str(e).lower()


def interrupt_current_processing(value: bool = True) -> None:
    global interrupt_processing
    interrupt_processing = value


def processing_interrupted() -> bool:
    return interrupt_processing


def throw_exception_if_processing_interrupted() -> None:
    global interrupt_processing
    if interrupt_processing:
        interrupt_processing = False
        raise InterruptProcessingException()


def get_torch_device() -> torch.device:
    return torch.device("cpu")


def unet_offload_device() -> torch.device:
    return torch.device("cpu")


def intermediate_device() -> torch.device:
    return torch.device("cpu")


def should_use_fp16(device=None, model_params=0, prioritize_performance=True, manual_cast=False) -> bool:
    return device is not None and torch.device(device).type == "cuda"


def should_use_bf16(device=None, model_params=0, prioritize_performance=True, manual_cast=False) -> bool:
    return False


def module_size(module: torch.nn.Module) -> int:
    return sum(t.nelement() * t.element_size() for t in module.state_dict().values())


class LoadedModel:
    """Holds the patcher and the loaded module weakly, as ComfyUI does."""

    def __init__(self, model) -> None:
        self._model = weakref.ref(model)
        self.device = model.load_device
        self.real_model = None
        self.currently_used = True
        self.model_finalizer = None

    @property
    def model(self):
        return self._model()

    def model_memory(self) -> int:
        return self.model.model_size()

    def model_load(self, lowvram_model_memory=0, force_patch_weights=False):
        self.model.load(self.device, lowvram_model_memory, force_patch_weights, full_load=lowvram_model_memory == 0)
        real_model = self.model.model
        self.real_model = weakref.ref(real_model)
        self.model_finalizer = weakref.finalize(real_model, cleanup_models)
        return real_model

    def model_unload(self, memory_to_free=None, unpatch_weights=True) -> bool:
        self.model.detach(unpatch_weights)
        self.model_finalizer.detach()
        self.model_finalizer = None
        self.real_model = None
        return True

    def is_dead(self) -> bool:
        return self.real_model is not None and self.real_model() is None

    def __eq__(self, other) -> bool:
        return self.model is other.model


def load_models_gpu(
    models, memory_required=0, force_patch_weights=False, minimum_memory_required=None, force_full_load=False
):
    LOAD_CALLS.append({"models": [weakref.ref(m) for m in models], "force_full_load": force_full_load})
    for patcher in models:
        loaded = LoadedModel(patcher)
        if loaded in current_loaded_models:
            current_loaded_models[current_loaded_models.index(loaded)].currently_used = True
            continue
        # the real manager partially loads (lowvram) unless force_full_load or the device is the CPU
        loaded.model_load(0 if force_full_load or patcher.load_device.type == "cpu" else 1)
        current_loaded_models.insert(0, loaded)


def loaded_models(only_currently_used=False) -> list:
    return [m.model for m in current_loaded_models if m.currently_used or not only_currently_used]


def free_memory(memory_required, device, keep_loaded=[], for_dynamic=False, pins_required=0, ram_required=0) -> list:  # noqa: B006, E501 (ComfyUI 0.38's signature)
    FREE_CALLS.append({"memory_required": memory_required, "device": device})
    cleanup_models()
    unloaded = []
    for i in range(len(current_loaded_models) - 1, -1, -1):
        loaded = current_loaded_models[i]
        if (device is None or loaded.device == device) and loaded not in keep_loaded:
            loaded.model_unload()
            unloaded.append(current_loaded_models.pop(i))
    return unloaded


def unload_all_models() -> None:
    free_memory(1e30, get_torch_device())


def cleanup_models() -> None:
    current_loaded_models[:] = [m for m in current_loaded_models if not m.is_dead() and m.model is not None]


def soft_empty_cache(force=False) -> None:
    pass
