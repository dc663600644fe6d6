"""Peak FLOP/s of one device, by chip and dtype (from vendors' datasheets), and parsing FLOP/s figures.

The denominator of MFU. Pure: the standard library only.

    >>> peak_flops("NVIDIA H100 80GB HBM3", "torch.bfloat16")
    989500000000000.0
    >>> parse_flops("312 TFLOPS")
    312000000000000.0
"""

from __future__ import annotations

import math
import re

__all__ = ["parse_flops", "peak_flops"]


# Peak dense FLOP/s (OPS for int8) of ONE device, by chip and dtype. NVIDIA's datasheets print most
# tensor-core figures "with sparsity" (2:4 structured), twice the dense rate training gets, so those
# appear here as "/ 2". "fp32" is the non-tensor CUDA-core rate (what fp32 training gets with TF32
# disabled); "tf32" is the tensor-core rate fp32 matmuls get with TF32 enabled. Where a datasheet gives
# figures for FP16 with FP16 and with FP32 accumulation, the FP32 one is used: mixed-precision
# training accumulates in FP32. A dtype missing from a chip means the chip has no tensor-core support
# for it (T4 and V100 have no bf16, A100 no fp8), and `peak_flops` returns None.
def _per_gpu(gpus: int, *, fp32: float, tf32: float, fp16: float, fp8: float) -> dict[str, float]:
    """One GPU's dense figures from a system's datasheet totals (tensor-core totals "with sparsity")."""
    sparse = {"tf32": tf32, "bf16": fp16, "fp16": fp16, "fp8": fp8, "int8": fp8}
    return {"fp32": fp32 / gpus, **{dtype: total / gpus / 2 for dtype, total in sparse.items()}}


_PEAK_FLOPS: dict[str, dict[str, float]] = {
    # NVIDIA H100 Tensor Core GPU datasheet (https://www.nvidia.com/en-us/data-center/h100/), SXM column.
    # H200 SXM (https://www.nvidia.com/en-us/data-center/h200/) and the GH200 superchip's Hopper GPU
    # (https://www.nvidia.com/en-us/data-center/grace-hopper-superchip/) print the same figures.
    "h100-sxm": {
        "fp32": 67e12,
        "tf32": 989e12 / 2,
        "bf16": 1979e12 / 2,
        "fp16": 1979e12 / 2,
        "fp8": 3958e12 / 2,
        "int8": 3958e12 / 2,
    },
    # Same datasheet, PCIe column.
    "h100-pcie": {
        "fp32": 51e12,
        "tf32": 756e12 / 2,
        "bf16": 1513e12 / 2,
        "fp16": 1513e12 / 2,
        "fp8": 3026e12 / 2,
        "int8": 3026e12 / 2,
    },
    # Same datasheet, H100 NVL column (per GPU; early editions printed the figures of the pair of GPUs).
    # H200 NVL prints the same figures.
    "h100-nvl": {
        "fp32": 60e12,
        "tf32": 835e12 / 2,
        "bf16": 1671e12 / 2,
        "fp16": 1671e12 / 2,
        "fp8": 3341e12 / 2,
        "int8": 3341e12 / 2,
    },
    # NVIDIA HGX B200 specifications (https://www.nvidia.com/en-us/data-center/hgx/): totals for 8 GPUs,
    # 72 PFLOPS FP8, 36 PFLOPS FP16/BF16, 18 PFLOPS TF32 (sparse), 600 TFLOPS FP32.
    "b200": _per_gpu(8, fp32=600e12, tf32=18e15, fp16=36e15, fp8=72e15),
    # NVIDIA GB200 NVL72 specifications (https://www.nvidia.com/en-us/data-center/gb200-nvl72/): totals
    # for 72 GPUs, 720 PFLOPS FP8, 360 PFLOPS FP16/BF16, 180 PFLOPS TF32 (sparse), 5,760 TFLOPS FP32.
    "gb200": _per_gpu(72, fp32=5760e12, tf32=180e15, fp16=360e15, fp8=720e15),
    # NVIDIA A100 Tensor Core GPU datasheet (https://www.nvidia.com/en-us/data-center/a100/): SXM and PCIe,
    # 40 GB and 80 GB, print the same figures.
    "a100": {"fp32": 19.5e12, "tf32": 312e12 / 2, "bf16": 624e12 / 2, "fp16": 624e12 / 2, "int8": 1248e12 / 2},
    # NVIDIA A10 datasheet (https://www.nvidia.com/en-us/data-center/products/a10-gpu/). The A10G is AWS's
    # variant of the A10, with no datasheet of its own; it gets the A10's figures.
    "a10": {"fp32": 31.2e12, "tf32": 125e12 / 2, "bf16": 250e12 / 2, "fp16": 250e12 / 2, "int8": 500e12 / 2},
    # NVIDIA L4 datasheet (https://www.nvidia.com/en-us/data-center/l4/).
    "l4": {
        "fp32": 30.3e12,
        "tf32": 120e12 / 2,
        "bf16": 242e12 / 2,
        "fp16": 242e12 / 2,
        "fp8": 485e12 / 2,
        "int8": 485e12 / 2,
    },
    # NVIDIA L40S datasheet (https://www.nvidia.com/en-us/data-center/l40s/), which prints the dense figures.
    "l40s": {"fp32": 91.6e12, "tf32": 183e12, "bf16": 362.05e12, "fp16": 362.05e12, "fp8": 733e12, "int8": 733e12},
    # NVIDIA L40 datasheet (https://www.nvidia.com/en-us/data-center/l40/), dense figures, FP32 accumulate.
    "l40": {"fp32": 90.5e12, "tf32": 90.5e12, "bf16": 181.05e12, "fp16": 181.05e12, "fp8": 362e12, "int8": 362e12},
    # NVIDIA T4 datasheet (https://www.nvidia.com/en-us/data-center/tesla-t4/): "mixed precision
    # (FP16/FP32)" for fp16. Turing has no bf16 or tf32 tensor cores.
    "t4": {"fp32": 8.1e12, "fp16": 65e12, "int8": 130e12},
    # NVIDIA V100 datasheet (https://www.nvidia.com/en-us/data-center/v100/): SXM2, PCIe and V100S PCIe
    # columns. "Tensor performance" is fp16 with FP32 accumulation; Volta has no bf16 or tf32.
    "v100-sxm2": {"fp32": 15.7e12, "fp16": 125e12},
    "v100-pcie": {"fp32": 14e12, "fp16": 112e12},
    "v100s-pcie": {"fp32": 16.4e12, "fp16": 130e12},
    # NVIDIA Ada Lovelace GPU architecture whitepaper, appendix A, GeForce RTX 4090 column (FP32
    # accumulate, the half rate GeForce cards run it at).
    "rtx-4090": {
        "fp32": 82.6e12,
        "tf32": 82.6e12,
        "bf16": 165.2e12,
        "fp16": 165.2e12,
        "fp8": 330.3e12,
        "int8": 660.6e12,
    },
    # NVIDIA Ampere GA102 GPU architecture whitepaper, appendix A: GeForce RTX 3090 column (FP32 accumulate
    # at half rate) and RTX A6000 column (full rate; its datasheet's 309.7 TFLOPS is the sparse figure).
    "rtx-3090": {"fp32": 35.6e12, "tf32": 35.6e12, "bf16": 71e12, "fp16": 71e12, "int8": 284e12},
    "rtx-a6000": {"fp32": 38.7e12, "tf32": 77.4e12, "bf16": 154.8e12, "fp16": 154.8e12, "int8": 309.7e12},
}

# The GeForce and workstation names are matched whole after "RTX", so that the RTX 3090 Ti, the
# RTX 4090 D and laptop parts, which are faster or slower, are not taken for the listed cards.
_RTX_MODELS = {"4090": "rtx-4090", "3090": "rtx-3090", "a6000": "rtx-a6000"}

_DTYPES = {
    "float32": "fp32",
    "fp32": "fp32",
    "float": "fp32",
    "tf32": "tf32",
    "tensorfloat32": "tf32",
    "bfloat16": "bf16",
    "bf16": "bf16",
    "float16": "fp16",
    "fp16": "fp16",
    "half": "fp16",
    "int8": "int8",
}


def _chip(device_name: str) -> str | None:
    """The `_PEAK_FLOPS` key for a name as NVML and ``torch.cuda.get_device_name()`` report it."""
    tokens = re.findall(r"[a-z0-9]+", device_name.lower())
    has = set(tokens).__contains__
    # A MIG slice ("NVIDIA A100-SXM4-40GB MIG 1g.5gb") has only part of the chip's SMs.
    if has("mig"):
        return None
    if has("gb200"):
        return "gb200"
    if has("b200"):
        return "b200"
    if has("gh200"):
        return "h100-sxm"
    if has("h100") or has("h200"):
        if has("nvl"):
            return "h100-nvl"
        # "NVIDIA H100 PCIe"; the SXM part reports its memory instead ("NVIDIA H100 80GB HBM3"), as does
        # "NVIDIA H200", which only comes as SXM apart from the NVL.
        if has("pcie") or has("hbm2e"):
            return "h100-pcie"
        return "h100-sxm"
    if has("a100"):
        return "a100"
    if has("a10") or has("a10g"):
        return "a10"
    for chip in ("l40s", "l40", "l4", "t4"):
        if has(chip):
            return chip
    if has("v100s"):
        return "v100s-pcie"
    if has("v100"):
        if has("pcie"):
            return "v100-pcie"
        if has("sxm2"):
            return "v100-sxm2"
        return None  # SXM3 (DGX-2) and DGXS parts run other clocks
    if has("rtx"):
        return _RTX_MODELS.get(" ".join(tokens[tokens.index("rtx") + 1 :]))
    return None


def _dtype_key(dtype: str) -> str | None:
    name = str(dtype).strip().lower().removeprefix("torch.")
    # torch has several fp8 formats (float8_e4m3fn, float8_e5m2, ...); the tensor cores run all at one rate.
    if name.startswith(("float8", "fp8")):
        return "fp8"
    return _DTYPES.get(name)


def peak_flops(device_name: str, dtype: str) -> float | None:
    """Peak dense FLOP/s of one NVIDIA GPU for a dtype, or None if the device or dtype is not known.

    `device_name` is the name NVML or ``torch.cuda.get_device_name()`` reports, such as
    ``"NVIDIA H100 80GB HBM3"`` or ``"Tesla T4"``. `dtype` is one of ``"float32"``/``"fp32"``,
    ``"tf32"``, ``"bfloat16"``/``"bf16"``, ``"float16"``/``"fp16"``, ``"float8"``/``"fp8"`` or ``"int8"``,
    with or without torch's ``"torch."`` prefix, so ``str(torch.bfloat16)`` works. MIG slices give None.
    """
    chip = _chip(device_name)
    key = _dtype_key(dtype)
    if chip is None or key is None:
        return None
    return _PEAK_FLOPS[chip].get(key)


# The exponent needs digits, so "312E" reads as 312 exa rather than as a malformed exponent.
_FLOPS_PATTERN = re.compile(
    r"(?P<number>[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?)\s*(?P<prefix>[kmgtpe]?)(?:flops?|flop/s)?", re.IGNORECASE
)
_PREFIXES = {"": 1.0, "k": 1e3, "m": 1e6, "g": 1e9, "t": 1e12, "p": 1e15, "e": 1e18}


def parse_flops(value: str | float) -> float:
    """A FLOP/s figure from a number or a string such as ``"312e12"``, ``"312 TFLOPS"`` or ``"1.2PFLOPS"``.

    Strings are a number, optionally followed by a unit: ``FLOPS``, ``FLOP/s`` or ``FLOPs``, each with an
    optional K, M, G, T, P or E prefix, or the prefix alone (``"312T"``); case does not matter. Raises
    ValueError naming the value when it is not one of these or not a positive finite number.
    """
    if isinstance(value, bool):
        # bool is an int: True would silently read as 1 FLOP/s.
        raise ValueError(_bad_flops(value))
    if isinstance(value, (int, float)):
        number = float(value)
    else:
        match = _FLOPS_PATTERN.fullmatch(str(value).strip())
        if match is None:
            raise ValueError(_bad_flops(value))
        number = float(match["number"]) * _PREFIXES[match["prefix"].lower()]
    if not (math.isfinite(number) and number > 0):
        raise ValueError(_bad_flops(value))
    return number


def _bad_flops(value: object) -> str:
    return (
        f"invalid FLOP/s value {value!r}: expected a positive number, optionally with a unit, "
        "such as 312e12, '312e12', '312 TFLOPS', '312T' or '1.2PFLOPS'"
    )
