"""Golden values from real JAX for quant.quantize / quant.dequantize (spec shared/spec/gmm.md, section E).

Run: /tmp/jaxenv/bin/python scripts/gen_quant_fixtures.py   (CPU only; deterministic; default JAX config, x64 off)
(the venv: python3 -m venv /tmp/jaxenv && /tmp/jaxenv/bin/pip install jax jaxlib ml_dtypes)
Writes tests/fixtures/quant.json; the TypeScript tests read only the JSON. Floats are written as "values" (NaN/Inf as
the strings "nan", "inf", "-inf"), arrays flattened row-major beside their shape and dtype.

qwix itself cannot be installed here, so this script restates qwix's quantization (google/qwix @aa623ac,
qwix/_src/core/qarray.py and numerics.py, as the spec cites them) in jax.numpy, function for function, and checks
the spec's own worked examples against it before writing anything:
- bounds (spec E.1): symmetric 127.5 int8, 7.5 int4, finfo.max for float8; asymmetric (qmin, qmax) for ints only;
- calibration "<method>[,args]" (E.2 and the second reading's E.1): absmax[,c], minmax[,c], rms,c, fixed,lo,hi | fixed,c
  (always per-tensor), over all axes but the channelwise ones and, on a tiled axis, within each tile;
- scale (E.3): A / B, or (hi - lo) / (qmax - qmin) with zp = convert(qmin - lo / s); s < sqrt(finfo(s.dtype).tiny) -> 1,
  in the input's dtype;
- q = convert(x / s [+ zp]) with true division; convert clips floats to +-finfo.max then casts, rounds ints half to
  even then casts (saturating on XLA's CPU); dequantize (q - zp) * s in the scale's dtype (E.2 second reading).
True division needs care: XLA's algebraic simplifier rewrites `a / broadcast(b)` into `a * broadcast(1 / b)`, so
qwix's `absmax / 127.5` and `x / scale` inside one computation multiply by a rounded reciprocal (checked here: on
random data most of `v / 127.5` and a quarter of per-row `x / s` differ from the correctly rounded quotient by an
ulp). The spec (E.3: "true division"; qwix's USE_RECIPROCAL_FOR_QUANTIZATION = False) is normative, so every
division below divides by a divisor materialized at the dividend's shape, which XLA divides exactly.
Gradients are jax.grad of sum(cotangent * dequantize(quantize(x))): plain autodiff through these ops, no straight-through
estimator (round has a zero derivative, the float8 cast passes tangents through).
"""
import json
import os
import pathlib

os.environ["JAX_PLATFORMS"] = "cpu"

import jax
import jax.numpy as jnp
import ml_dtypes
import numpy as np

OUT = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "quant.json"
rng = np.random.default_rng(20261201)

QTYPES = {"int8": jnp.int8, "int4": jnp.int4, "float8_e4m3fn": jnp.float8_e4m3fn, "float8_e5m2": jnp.float8_e5m2}
DTYPES = {"float32": jnp.float32, "bfloat16": jnp.bfloat16, "float16": jnp.float16}


# ---- qwix, restated (spec E.1-E.4) ----

def symmetric_bound(qtype):
    if jnp.issubdtype(qtype, jnp.floating):
        return float(jnp.finfo(qtype).max)
    return jnp.iinfo(qtype).max + 0.5


def asymmetric_bound(qtype):
    if qtype == jnp.int8:
        return (-128.0, 127.0)
    if qtype == jnp.int4:
        return (-8.0, 7.0)
    raise ValueError(f"{qtype} doesn't support asymmetric quantization.")


def convert_to(x, qtype):
    if jnp.issubdtype(qtype, jnp.floating):
        finfo = jnp.finfo(qtype)
        return x.clip(finfo.min.astype(x.dtype), finfo.max.astype(x.dtype)).astype(qtype)
    return jnp.round(x).astype(qtype)


def scale_shape(shape, channelwise, tiled):
    return tuple(d if a in channelwise else d // tiled[a] if a in tiled else 1 for a, d in enumerate(shape))


def split_axis(x, tiled):
    shape = []
    for a, d in enumerate(x.shape):
        shape += [d // tiled[a], tiled[a]] if a in tiled else [d]
    return x.reshape(shape)


def calibrate(x, channelwise, tiled, method):
    reduce_axes, offset = [], 0
    for axis in range(x.ndim):
        if axis in channelwise:
            continue
        if axis in tiled:
            offset += 1
        reduce_axes.append(axis + offset)
    shape = scale_shape(x.shape, channelwise, tiled)
    x = split_axis(x, tiled)
    name, *args = method.lower().split(",")
    args = [float(a) for a in args]
    if name == "minmax":
        lo = jnp.clip(jnp.min(x, axis=reduce_axes, keepdims=True), max=0)
        hi = jnp.clip(jnp.max(x, axis=reduce_axes, keepdims=True), min=0)
        if args:
            lo, hi = lo * args[0], hi * args[0]
        return {"min": lo.reshape(shape), "max": hi.reshape(shape)}
    if name == "absmax":
        absmax = jnp.max(jnp.abs(x), axis=reduce_axes, keepdims=True)
        return {"absmax": (absmax * args[0] if args else absmax).reshape(shape)}
    if name == "rms":
        sums = jnp.sum(jnp.square(x).astype(jnp.float32), axis=reduce_axes, keepdims=True)  # jnp.mean's upcast
        mean = divide(sums, float(np.prod([x.shape[a] for a in reduce_axes]))).astype(x.dtype)
        return {"absmax": (jnp.sqrt(mean) * args[0]).reshape(shape)}
    assert name == "fixed"
    lo, hi = (-args[0], args[0]) if len(args) == 1 else args
    ones = tuple(1 for _ in shape)
    if lo + hi == 0:
        return {"absmax": jnp.full(ones, hi, x.dtype)}
    return {"min": jnp.full(ones, lo, x.dtype), "max": jnp.full(ones, hi, x.dtype)}


def divide(a, b):
    """Correctly rounded a / b: the divisor materialized at a's shape (an eager broadcast), so XLA cannot rewrite it."""
    return jnp.divide(a, jnp.broadcast_to(jnp.asarray(b, a.dtype), a.shape))


def check_division():
    """XLA multiplies by a reciprocal when it sees a broadcast divisor, and divides exactly otherwise."""
    a = jnp.asarray(np.random.default_rng(0).standard_normal(4096).astype(np.float32))
    exact = (np.asarray(a, np.float64) / 127.5).astype(np.float32)
    assert (np.asarray(jax.jit(lambda v: v / 127.5)(a)) != exact).sum() > 100
    assert (np.asarray(divide(a, 127.5)) == exact).all()


def guard(scale):
    return jnp.where(scale < jnp.sqrt(jnp.finfo(scale.dtype).tiny), jnp.ones_like(scale), scale)


def generic(op, x, y):
    """qwix's call_with_generic_broadcast, with y broadcast eagerly (see divide)."""
    xs, ys, out = [], [], []
    for a, b in zip(x.shape, y.shape):
        out.append(max(a, b))
        if a == b or b == 1:
            xs.append(a)
            ys.append(b)
        else:
            xs += [b, a // b]
            ys += [b, 1]
    x = x.reshape(xs)
    return op(x, jnp.broadcast_to(y.reshape(ys), x.shape)).reshape(out)


def quantize(x, qtype, channelwise=(), tiled=None, method="absmax"):
    tiled = tiled or {}
    calibration = calibrate(x, channelwise, tiled, method)
    if "absmax" in calibration:
        scale, zero_point = guard(divide(calibration["absmax"], symmetric_bound(qtype))), None
    else:
        qmin, qmax = asymmetric_bound(qtype)
        scale = guard(divide(calibration["max"] - calibration["min"], qmax - qmin))
        zero_point = convert_to(qmin - divide(calibration["min"], scale), qtype)
    scale = scale.astype(x.dtype)
    q = generic(jnp.divide, x, scale)
    if zero_point is not None:
        q = generic(jnp.add, q, zero_point.astype(q.dtype))
    return convert_to(q, qtype), scale, zero_point


def dequantize(q, scale, zero_point):
    v = q.astype(scale.dtype)
    if zero_point is not None:
        v = generic(jnp.subtract, v, zero_point.astype(v.dtype))
    return generic(jnp.multiply, v, scale)


# ---- fixtures ----

def encode(x):
    x = np.asarray(x)
    if np.issubdtype(x.dtype, np.integer) or x.dtype == jnp.int4:
        return [int(v) for v in x.astype(np.int64).ravel()]
    wide = x.astype(np.float64).ravel()
    return ["nan" if np.isnan(v) else "inf" if v == np.inf else "-inf" if v == -np.inf else float(v) for v in wide]


def arr(x):
    x = np.asarray(x)
    return {"shape": list(x.shape), "dtype": str(x.dtype), "values": encode(x)}


def case(name, x, qtype, channelwise=(), tiled=None, method="absmax", dtype="float32", grad=False):
    x = jnp.asarray(np.asarray(x, np.float32)).astype(DTYPES[dtype])
    q, scale, zero_point = quantize(x, QTYPES[qtype], channelwise, tiled, method)
    entry = {"name": name, "x": arr(x), "qtype": qtype, "channelwise_axes": list(channelwise), "tiled_axes": {str(a): t for a, t in (tiled or {}).items()},
             "calibration": method, "qvalue": arr(q), "scale": arr(scale), "zero_point": None if zero_point is None else arr(zero_point),
             "dequantized": arr(dequantize(q, scale, zero_point))}
    if grad:
        cotangent = jnp.asarray(rng.standard_normal(x.shape).astype(np.float32)).astype(x.dtype)
        loss = lambda v: jnp.sum(cotangent * dequantize(*quantize(v, QTYPES[qtype], channelwise, tiled, method)))
        entry.update({"cotangent": arr(cotangent), "grad": arr(jax.grad(loss)(x))})
    return entry


def rand(shape, spread=1.0):
    return rng.standard_normal(shape).astype(np.float32) * spread


def summable(shape):
    """Random multiples of 1/16: their squares and sums are exact in float32, whatever order a reduction takes."""
    return np.round(rand(shape) * 16) / 16


def near_ties(scale, codes):
    """f32 values whose quotient by `scale` lies within a few ulps of code + 0.5, where the f32 rounding of x / s decides."""
    s = np.float32(scale)
    exact = (np.asarray(codes, np.float64) + 0.5) * np.float64(s)
    x = exact.astype(np.float32)
    return np.concatenate([np.nextafter(x, np.float32(-np.inf)), x, np.nextafter(x, np.float32(np.inf))])


def check_spec_examples():
    """The spec's worked examples (section G, items 29-41, and the second reading's table, rows 29-42)."""
    f32 = lambda v: jnp.asarray(v, jnp.float32)
    q, s, _ = quantize(f32([1, -2, 0.5, 2]), jnp.int8)
    assert q.tolist() == [64, -127, 32, 127] and np.float32(s[0]) == np.float32(0.015686275), (q, s)
    assert convert_to(f32([1.2, 3.5, -127.5, 129, -1300, np.inf, -np.inf]), jnp.int8).tolist() == [1, 4, -128, 127, -128, 127, -128]
    assert convert_to(f32([np.nan]), jnp.int8).tolist() == [0]
    assert convert_to(f32([1.2, 3.5, 8, -1300]), jnp.int4).astype(np.int8).tolist() == [1, 4, 7, -8]
    q, s, _ = quantize(f32([1, -2, 0.5, 2]), jnp.int4)
    assert q.astype(np.int8).tolist() == [4, -7, 2, 7] and np.float32(s[0]) == np.float32(0.26666668)
    q, s, _ = quantize(f32([1, -3, 0.1, 0]), jnp.float8_e4m3fn)
    assert q.astype(np.float32).tolist() == [144, -448, 15, 0] and np.float32(s[0]) == np.float32(3 / 448)
    assert quantize(f32([-127.5, 63.75, 127.5]), jnp.int8)[0].tolist() == [-128, 64, 127]
    assert quantize(f32([-1, 0.5, 1]), jnp.int8)[0].tolist() == [-127, 64, 127]
    assert quantize(f32([-7.5, 3.75, 7.5]), jnp.int4)[0].astype(np.int8).tolist() == [-8, 4, 7]
    q, s, zp = quantize(f32([0.5, 1, 3]), jnp.int8, method="minmax")
    assert q.tolist() == [-86, -43, 127] and zp.tolist() == [-128] and np.float32(s[0]) == np.float32(0.011764706)
    q, s, _ = quantize(f32([0.5, 1, 300]), jnp.float8_e4m3fn, method="fixed,-224,224")
    assert q.astype(np.float32).tolist() == [1, 2, 448] and s.tolist() == [0.5]
    assert quantize(f32([3, 4]), jnp.int8, method="rms,2")[0].tolist() == [54, 72]
    assert quantize(f32([0, 0]), jnp.int8)[1].tolist() == [1.0]
    assert np.float32(jnp.sqrt(jnp.finfo(jnp.float32).tiny)) == np.float32(2.0**-63) == np.float32(jnp.sqrt(jnp.finfo(jnp.bfloat16).tiny))
    assert float(jnp.sqrt(jnp.finfo(jnp.float16).tiny)) == 2.0**-7  # the guard in float16 is 2^-7, not 2^-63
    e4m3 = lambda v: f32(v).astype(jnp.float8_e4m3fn).astype(np.float32).tolist()
    assert e4m3([448, 449, 464, 2**-9, 2**-10, 1.5 * 2**-10, 3 * 2**-10, 17, 19]) == [448, 448, 448, 2**-9, 0, 2**-9, 2**-8, 16, 20]
    assert np.isnan(e4m3([464.1, np.inf])).all()
    for qtype in (jnp.float8_e4m3fn, jnp.float8_e5m2):
        try:
            quantize(f32([1, 2]), qtype, method="minmax")
            raise AssertionError("float8 minmax must fail")
        except ValueError as error:
            assert "doesn't support asymmetric quantization" in str(error)


def main():
    check_division()
    check_spec_examples()
    cases = []
    for qtype in QTYPES:
        grad = qtype in ("int8", "float8_e4m3fn")
        cases += [
            case(f"{qtype}: absmax per tensor", rand((4, 6)), qtype, grad=grad),
            case(f"{qtype}: absmax per row (channelwise [0])", rand((4, 6)), qtype, channelwise=[0], grad=grad),
            case(f"{qtype}: absmax per column of a 3-D array (channelwise [2])", rand((2, 3, 4)), qtype, channelwise=[2]),
            case(f"{qtype}: per row, blocks of 3 along axis 1", rand((4, 6)), qtype, channelwise=[0], tiled={1: 3}, grad=qtype == "int4"),
            case(f"{qtype}: 2x3 blocks (tiled axes 0 and 1)", rand((4, 6)), qtype, tiled={0: 2, 1: 3}),
            case(f"{qtype}: rms,2 per row", summable((3, 8)), qtype, channelwise=[0], method="rms,2", grad=grad),
            case(f"{qtype}: absmax,0.5 saturates", rand((3, 5)), qtype, channelwise=[0], method="absmax,0.5"),
            case(f"{qtype}: bfloat16 input, per row", rand((3, 5)), qtype, channelwise=[0], dtype="bfloat16"),
            case(f"{qtype}: float16 input, per tensor", rand((3, 5), 4.0), qtype, dtype="float16"),
            case(f"{qtype}: all zeros (scale 1)", np.zeros((2, 3)), qtype, channelwise=[0]),
            case(f"{qtype}: NaN in row 0, Inf in row 1, per row", [[1, np.nan, -2], [3, np.inf, -1], [0.5, -0.25, 1]], qtype, channelwise=[0]),
            case(f"{qtype}: +-Inf, NaN, beyond the bound with a fixed scale", [np.inf, -np.inf, np.nan, 1e30, -1e30, 0.0, -0.0], qtype, method="fixed,2"),
        ]
    cases += [
        case("int8: fixed,-224,224", rand((2, 4), 100.0), "int8", method="fixed,-224,224"),
        case("float8_e4m3fn: fixed,-224,224 clips", [0.5, 1, 300, -500, 224, -224], "float8_e4m3fn", method="fixed,-224,224"),
        case("int8: fixed,127.5 (scale 1) converts [1.2,3.5,-127.5,129,-1300]", [1.2, 3.5, -127.5, 129, -1300, 0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 126.5, 127.49, -128.5],
             "int8", method="fixed,127.5"),
        case("int4: fixed,7.5 (scale 1) converts and ties", [1.2, 3.5, 8, -1300, 0.5, 1.5, 2.5, -2.5, 6.5, 7.5, -7.5, -8.5], "int4", method="fixed,7.5"),
        case("int8: ties after f32 rounding of x / s ([-1, 0.5, 1] and [1, -2, 0.5, 2])", [-1, 0.5, 1, -2, 2], "int8"),
        case("int8: absmax ties [-127.5, 63.75, 127.5]", [-127.5, 63.75, 127.5], "int8"),
        case("int4: absmax ties [-7.5, 3.75, 7.5]", [-7.5, 3.75, 7.5], "int4"),
        case("int8: near ties of a 1/3 scale", np.concatenate([near_ties(1 / 3, [0, 1, 2, 41, 100, 126]), [127.5 / 3]]), "int8", method="fixed,42.5"),
        case("int4: near ties of a 0.1 scale", np.concatenate([near_ties(0.1, [0, 1, 2, 5, 6]), [0.75]]), "int4", method="fixed,0.75"),
        case("float8_e4m3fn: scale 1, ties and subnormals", [17, 19, 464, 449, -464.5, 2**-9, 2**-10, 1.5 * 2**-10, 3 * 2**-10, 0.013671875, -0.0, 448],
             "float8_e4m3fn", method="fixed,448"),
        case("float8_e5m2: scale 1, saturation and subnormals", [57344, 61439, 61440, -70000, 2**-16, 2**-17, 3 * 2**-17, -0.0, 5, 7],
             "float8_e5m2", method="fixed,57344"),
        case("float8_e4m3fn: absmax block [-896, 448, 1]", [-896, 448, 1], "float8_e4m3fn"),
        case("int8: absmax below sqrt(tiny) gives scale 1", [1e-20, -5e-21, 0], "int8"),
        case("int8: float16 absmax 0.5: scale below 2^-7 becomes 1", [0.5, -0.25, 0.125], "int8", dtype="float16"),
        case("int8: minmax [0.5, 1, 3]", [0.5, 1, 3], "int8", method="minmax"),
        case("int8: minmax per row", rand((3, 6)), "int8", channelwise=[0], method="minmax", grad=True),
        case("int4: minmax,0.8 in blocks of 4", rand((2, 8)), "int4", tiled={1: 4}, method="minmax,0.8"),
        case("int8: fixed,-1,3 is asymmetric", [-1.5, -1, 0, 0.7, 3, 4], "int8", method="fixed,-1,3"),
        case("int8: bfloat16 minmax", rand((2, 5)), "int8", channelwise=[0], method="minmax", dtype="bfloat16"),
        case("int8: rms,3 per tensor on exactly summable values", np.arange(-8, 8, dtype=np.float32) / 8, "int8", method="rms,3"),
        case("float8_e4m3fn: bfloat16 rms,2 on a 3-D array, channelwise [0], blocks of 2 on axis 2", summable((2, 4, 4)), "float8_e4m3fn",
             channelwise=[0], tiled={2: 2}, method="rms,2", dtype="bfloat16"),
    ]
    meta = {"jax": jax.__version__, "ml_dtypes": ml_dtypes.__version__, "qwix": "restated from google/qwix @aa623ac (spec section E)"}
    OUT.write_text(json.dumps({"meta": meta, "cases": cases}) + "\n")
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes, {len(cases)} cases)")


if __name__ == "__main__":
    main()
