"""_context.py — a libsiglip context (settings, lock, error reporting) and the device list."""
import ctypes
import os
import threading

from . import _lib
from ._lib import lib, SiglipError



def _precisions():
    """{name: SiglipPrecision} for every precision the library names (siglip_precision_name)."""
    out = {}
    while lib.siglip_precision_name(len(out)):
        out[lib.siglip_precision_name(len(out)).decode()] = len(out)
    return out


# Weight precisions from_pretrained accepts: name → what it sets in SiglipSettings, read from the
# library, so a precision it gains is accepted here as it is.
PRECISIONS = _precisions()

TEXT_MASKS = {"hf": _lib.TEXT_MASK_HF, "none": _lib.TEXT_MASK_NONE}


def default_cache_dir():
    """Where compiled OpenCL programs are cached, as the siglip tool does it."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "siglip")


class Context:
    """Owns one SiglipContext. The library requires a context (and everything made through it) to
    be used by one thread at a time: every call goes through `call` under `lock`."""

    def __init__(self, device="auto", precision="f32", text_mask="hf", cache_dir="default",
                 n_threads=0, max_image_pixels=None, tuning_file=None):
        if precision not in PRECISIONS:
            raise ValueError("precision %r is not supported; choose one of %s"
                             % (precision, ", ".join(sorted(PRECISIONS))))
        if text_mask not in TEXT_MASKS:
            raise ValueError("text_mask %r: choose 'hf' (transformers) or 'none' (big_vision)"
                             % (text_mask,))
        if cache_dir == "default":
            cache_dir = default_cache_dir()
        s = _lib.Settings()
        lib.siglip_default_settings(ctypes.byref(s))
        # The library copies the settings' strings; these keep them alive until it has.
        self._strings = [x if x is None else os.fsencode(x)
                         for x in (device, cache_dir, tuning_file)]
        s.device, s.program_cache_dir, s.tuning_file = self._strings
        s.text_mask = TEXT_MASKS[text_mask]
        s.n_threads = int(n_threads)
        s.precision = PRECISIONS[precision]
        if max_image_pixels is not None:
            s.max_image_pixels = int(max_image_pixels)
        self.device_spec = device
        self.precision = precision
        self.lock = threading.RLock()
        self._owned = []  # (free function, handle) of what was made through this context
        self.handle = ctypes.c_void_p()
        status = lib.siglip_context_create(ctypes.byref(self.handle), ctypes.byref(s))
        if status:
            raise SiglipError(status, "cannot create a context: " + _lib.strerror(status))

    def error(self, status, message=None):
        if message is None:
            message = lib.siglip_context_error(self.handle)
        message = message.decode("utf-8", "replace")
        return SiglipError(status, message or _lib.strerror(status))

    def call(self, fn, *args, error_of=None):
        """Calls fn(*args) under the lock and returns its result; a negative int status raises
        SiglipError with the context's message, or with error_of(args[0]) for a handle that keeps
        its own (siglip_tokenizer_error, siglip_image_processor_error)."""
        with self.lock:
            if not self.handle:
                raise ValueError("this model / tokenizer / processor has been closed")
            status = fn(*args)
            if isinstance(status, int) and status < 0:
                raise self.error(status, error_of(args[0]) if error_of else None)
        return status

    def own(self, free, handle):
        """Frees handle with free() when the context closes, before the context itself: objects
        hold their context, not the reverse, so the order holds whatever the garbage collector
        does."""
        self._owned.append((free, handle))

    def close(self):
        with self.lock:
            while self._owned:
                free, handle = self._owned.pop()
                free(ctypes.byref(handle))
            if self.handle:
                lib.siglip_context_close(ctypes.byref(self.handle))

    def __del__(self):
        if getattr(self, "handle", None):
            self.close()


def _device_dict(d):
    return {
        "spec": "%d:%d" % (d.platform_index, d.device_index),
        "type": _lib.DEVICE_TYPES.get(d.type, "other"),
        "platform": d.platform_name.decode(errors="replace"),
        "name": d.name.decode(errors="replace"),
        "vendor": d.vendor.decode(errors="replace"),
        "version": d.version.decode(errors="replace"),
        "driver_version": d.driver_version.decode(errors="replace"),
        "compute_units": d.compute_units,
        "global_mem_bytes": d.global_mem_bytes,
        "has_fp16": bool(d.has_fp16),
        "selected": bool(d.is_selected),
    }


def devices(device="auto"):
    """Every OpenCL device as a dict; "selected" marks the one `device` (a spec) picks."""
    ctx = Context(device=device, cache_dir=None)
    try:
        arr = ctypes.POINTER(_lib.DeviceInfo)()
        n = ctypes.c_size_t()
        ctx.call(lib.siglip_devices_list, ctx.handle, ctypes.byref(arr), ctypes.byref(n))
        try:
            return [_device_dict(arr[i]) for i in range(n.value)]
        finally:
            lib.siglip_devices_free(ctypes.byref(arr))
    finally:
        ctx.close()
