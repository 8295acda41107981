"""Golden values from real JAX and ml_dtypes for the dtype and random tests.

Run: /tmp/jaxenv/bin/python scripts/gen_fixtures.py   (CPU only; deterministic; default JAX config, x64 off)
(the venv: python3 -m venv /tmp/jaxenv && /tmp/jaxenv/bin/pip install jax jaxlib ml_dtypes)
Writes tests/fixtures/{random,promote_types,float_formats}.json; the TypeScript tests read only the JSON.
Floats are written as "values" (NaN/Inf as the strings "nan", "inf", "-inf") and, where exactness matters,
as "bits" (the raw unsigned bit pattern of each element). Arrays are flattened row-major beside their shape.
"""
import json
import os
import pathlib

os.environ["JAX_PLATFORMS"] = "cpu"

import jax
import jax.numpy as jnp
import ml_dtypes
import numpy as np

OUT = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures"
META = {"jax": jax.__version__, "ml_dtypes": ml_dtypes.__version__, "threefry_partitionable": bool(jax.config.jax_threefry_partitionable),
        "enable_x64": bool(jax.config.jax_enable_x64), "prng_impl": str(jax.config.jax_default_prng_impl)}


def encode(x):
    """JSON-safe values: floats as numbers, NaN/Inf as strings."""
    x = np.asarray(x)
    if x.dtype == np.bool_:
        return [bool(v) for v in x.ravel()]
    if np.issubdtype(x.dtype, np.integer):
        return [int(v) for v in x.ravel()]
    out = []
    with np.errstate(invalid="ignore"):  # NaNs with payloads
        wide = x.astype(np.float64).ravel()
    for v in wide:
        out.append("nan" if np.isnan(v) else ("inf" if v == np.inf else "-inf" if v == -np.inf else float(v)))
    return out


def f32_bits(x):
    return [int(b) for b in np.asarray(x, np.float32).view(np.uint32).ravel()]


def case(seed, op, args, value):
    value = np.asarray(value)
    entry = {"seed": seed, "op": op, "args": args, "shape": list(value.shape), "dtype": str(value.dtype), "values": encode(value)}
    if value.dtype in (np.float32, jnp.bfloat16, np.float16):
        width = {4: np.uint32, 2: np.uint16}[value.dtype.itemsize]
        entry["bits"] = [int(b) for b in value.view(width).ravel()]
    return entry


def random_cases():
    cases = []
    r = jax.random
    for seed in [0, 1, 42, 2**31 - 1, -1, 123456789]:
        k = r.PRNGKey(seed)
        cases.append(case(seed, "key", {}, k))
        cases.append(case(seed, "split", {"num": 2}, r.split(k)))
        for num in (3, 5):
            cases.append(case(seed, "split", {"num": num}, r.split(k, num)))
        for d in (0, 7, 2**31 - 1):
            cases.append(case(seed, "fold_in", {"data": d}, r.fold_in(k, d)))
        for shape in [(5,), (2, 3), ()]:
            cases.append(case(seed, "bits", {"shape": list(shape)}, r.bits(k, shape)))
        cases.append(case(seed, "uniform", {"shape": [7]}, r.uniform(k, (7,))))
        cases.append(case(seed, "uniform", {"shape": [2, 3], "minval": -2.0, "maxval": 5.0}, r.uniform(k, (2, 3), minval=-2.0, maxval=5.0)))
        for dtype in ("bfloat16", "float16"):
            cases.append(case(seed, "uniform", {"shape": [4], "dtype": dtype}, r.uniform(k, (4,), dtype=dtype)))
        cases.append(case(seed, "normal", {"shape": [6]}, r.normal(k, (6,))))
        for lo, hi, shape in [(0, 10, 8), (-5, 1000, 6), (-(2**31), 2**31 - 1, 5)]:
            cases.append(case(seed, "randint", {"shape": [shape], "minval": lo, "maxval": hi}, r.randint(k, (shape,), lo, hi)))
        cases.append(case(seed, "bernoulli", {"p": 0.3, "shape": [10]}, r.bernoulli(k, 0.3, (10,))))
        cases.append(case(seed, "permutation", {"n": 10}, r.permutation(k, 10)))
        cases.append(case(seed, "permutation_array", {"values": [0.0, 2.5, 5.0, 7.5, 10.0, 12.5]}, r.permutation(k, jnp.arange(6) * 2.5)))
        _, k2 = r.split(k)
        cases.append(case(seed, "split_then_bits", {"shape": [3]}, r.bits(k2, (3,))))
    return cases


DTYPES = ["bool", "uint8", "uint16", "uint32", "int4", "int8", "int16", "int32", "float8_e4m3fn", "float8_e5m2", "bfloat16", "float16", "float32"]


def promotion():
    table, messages = {}, {}
    for a in DTYPES:
        for b in DTYPES:
            try:
                table[f"{a},{b}"] = str(jnp.promote_types(getattr(jnp, a), getattr(jnp, b)))
            except Exception as e:  # no promotion path
                table[f"{a},{b}"] = f"error: {type(e).__name__}"
                messages[f"{a},{b}"] = str(e)
    weak = {}
    for d in DTYPES:
        x = jnp.zeros(3, getattr(jnp, d))
        for label, scalar in [("int", 2), ("float", 2.5), ("bool", True)]:
            try:
                aval = jax.make_jaxpr(lambda v: v + scalar)(x).out_avals[0]
                weak[f"{d},{label}"] = [str(aval.dtype), bool(aval.weak_type)]
            except Exception as e:
                weak[f"{d},{label}"] = f"error: {type(e).__name__}"
                messages[f"{d},{label}"] = str(e)
    # Two Python scalars traced as arguments: ints and floats are weak, bools are not.
    scalars = {}
    for a, b in [(2, 2.5), (True, 2), (2, 3), (2.5, 1.5), (True, 2.5), (True, False)]:
        jaxpr = jax.make_jaxpr(lambda u, v: u + v)(a, b)
        scalars[f"{type(a).__name__},{type(b).__name__}"] = {
            "inputs": [[str(v.dtype), bool(v.weak_type)] for v in jaxpr.in_avals],
            "result": [str(jaxpr.out_avals[0].dtype), bool(jaxpr.out_avals[0].weak_type)]}
    return {"meta": META, "promote_types": table, "weak": weak, "weak_scalars": scalars, "error_messages": messages}


def float_formats():
    rng = np.random.default_rng(0)
    decode = {}
    for name in ("float8_e4m3fn", "float8_e5m2"):
        t = getattr(ml_dtypes, name)
        decode[name] = [int(v) for v in np.arange(256, dtype=np.uint8).view(t).astype(np.float32).view(np.uint32)]
    specials = [0.0, -0.0, np.inf, -np.inf, np.nan, 448, 449, 464, np.nextafter(np.float32(464), np.float32(1000)), 465, 480, 57344, 61439, 61440,
                65504, 65519, 65520, 2.0**-10, 1.5 * 2.0**-10, 3 * 2.0**-10, 17, 19, 1e-8, 1e-40, np.finfo(np.float32).max]
    for t in (ml_dtypes.float8_e4m3fn, ml_dtypes.float8_e5m2, np.float16, ml_dtypes.bfloat16):
        info = ml_dtypes.finfo(t)
        tiny, sub = float(info.smallest_normal), float(info.smallest_subnormal)
        specials += [sub, sub / 2, sub * 1.5, sub * 2.5, tiny, np.nextafter(np.float32(tiny), np.float32(0)), tiny * 0.75]
    values = np.array(specials, dtype=np.float32)
    mags = np.exp(rng.uniform(np.log(1e-45), np.log(3e38), 300)).astype(np.float32) * rng.choice([-1, 1], 300)
    bits = rng.integers(0, 2**32, 100, dtype=np.uint64).astype(np.uint32).view(np.float32)
    inputs = np.concatenate([values, mags.astype(np.float32), bits])
    encode_table = {"inputs": f32_bits(inputs), "input_values": encode(inputs)}  # "inputs" are float32 bits
    for name, t, width in [("float16", np.float16, np.uint16), ("bfloat16", ml_dtypes.bfloat16, np.uint16),
                           ("float8_e4m3fn", ml_dtypes.float8_e4m3fn, np.uint8), ("float8_e5m2", ml_dtypes.float8_e5m2, np.uint8)]:
        with np.errstate(over="ignore", invalid="ignore"):  # raw casts: overflow to inf/NaN is what we record
            encode_table[name] = [int(b) for b in inputs.astype(t).view(width)]
    decode16 = {}
    for name, t, special in [("float16", np.float16, [0x0000, 0x8000, 0x7C00, 0xFC00, 0x7E00, 0xFE00, 0x7C01, 0x7FFF, 0x0001, 0x03FF, 0x0400, 0x7BFF, 0x3C00]),
                             ("bfloat16", ml_dtypes.bfloat16, [0x0000, 0x8000, 0x7F80, 0xFF80, 0x7FC0, 0xFFC0, 0x7F81, 0x7FFF, 0x0001, 0x007F, 0x0080, 0x7F7F, 0x3F80])]:
        codes = np.array(special + [int(c) for c in rng.integers(0, 2**16, 200)], dtype=np.uint16)
        decoded = codes.view(t).astype(np.float32)
        decode16[name] = {"codes": [int(c) for c in codes], "bits": f32_bits(decoded), "values": encode(decoded)}
    casts = np.array([-1e10, -129, -128.5, -1.5, -0.5, 0.5, 1.5, 2.5, 127.5, 255.5, 256, 1e10, np.nan, np.inf, -np.inf], dtype=np.float32)
    to_int = {d: encode(jnp.asarray(casts).astype(d)) for d in ("int8", "uint8", "int32", "uint32")}
    return {"meta": META, "decode": decode, "encode": encode_table, "decode16": decode16,
            "float_to_int": {"inputs": encode(casts), "input_bits": f32_bits(casts), **to_int}}


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "random.json").write_text(json.dumps({"meta": META, "cases": random_cases()}) + "\n")
    (OUT / "promote_types.json").write_text(json.dumps(promotion(), indent=0) + "\n")
    (OUT / "float_formats.json").write_text(json.dumps(float_formats()) + "\n")


if __name__ == "__main__":
    main()
