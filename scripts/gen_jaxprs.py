"""Golden jaxpr texts from real JAX, for tests/trace/jaxprs.test.ts (which rebuilds each program in TypeScript).

Run: JAX_PLATFORMS=cpu /tmp/jaxenv/bin/python scripts/gen_jaxprs.py
(the venv: python3 -m venv /tmp/jaxenv && /tmp/jaxenv/bin/pip install jax jaxlib ml_dtypes)
Writes tests/fixtures/jaxprs.json: {name: printed jaxpr}.
"""
import json
import pathlib

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

f32 = lambda *s: jnp.zeros(s, jnp.float32)
i32 = lambda *s: jnp.zeros(s, jnp.int32)


def double(y):
    return y * 2


def body_fori(i, c):
    return c + i


def scan_step(c, x):
    return c + x, c * x


CONST = np.arange(3.0, dtype=np.float32)

PROGRAMS = {
    "sin_mul": (lambda x: jnp.sin(x) * 2.0, [f32(3)]),
    "add_broadcast": (lambda x, y: x + y, [f32(3), f32(2, 1)]),
    "weak_int_literal": (lambda x: x.astype(jnp.int8) + 3, [f32(3)]),
    "sum_axis0": (lambda x: jnp.sum(x, axis=0), [f32(2, 3)]),
    "max_keepdims": (lambda x: jnp.max(x, axis=1, keepdims=True), [f32(2, 3)]),
    "mean": (lambda x: jnp.mean(x), [f32(4)]),
    "dot": (lambda a, b: jnp.dot(a, b), [f32(2, 3), f32(3, 4)]),
    "matmul_batched": (lambda a, b: jnp.matmul(a, b), [f32(2, 3, 4), f32(2, 4, 5)]),
    "dot_general": (lambda a, b: lax.dot_general(a, b, (((0,), (1,)), ((), ()))), [f32(3, 2), f32(4, 3)]),
    "nested_jit": (lambda x: jax.jit(double)(x) + 1.0, [f32(3)]),
    "cond": (lambda p, x: lax.cond(p, lambda v: v + 1.0, lambda v: v - 1.0, x), [jnp.bool_(True), f32(3)]),
    "while": (lambda x: lax.while_loop(lambda c: c < 10, lambda c: c + 1, x), [i32()]),
    "fori": (lambda x: lax.fori_loop(0, 5, body_fori, x), [i32()]),
    "scan": (lambda xs: lax.scan(scan_step, jnp.float32(0.0), xs), [f32(5)]),
    "pytree": (lambda d: {"s": d["a"] + d["b"], "p": d["a"] * d["b"]}, [{"a": f32(2), "b": f32(2)}]),
    "softmax": (lambda x: jax.nn.softmax(x), [f32(2, 3)]),
    "where": (lambda x: jnp.where(x > 0, x, 0.0), [f32(3)]),
    "astype_bf16": (lambda x: x.astype(jnp.bfloat16), [f32(3)]),
    "transpose_reshape": (lambda x: x.T.reshape(-1), [f32(2, 3)]),
    "concatenate": (lambda x, y: jnp.concatenate([x, y]), [f32(2), f32(3)]),
    "argmax": (lambda x: jnp.argmax(x, axis=1), [f32(2, 3)]),
    "cumsum": (lambda x: jnp.cumsum(x), [f32(4)]),
    "arange_add": (lambda x: x + jnp.arange(3), [f32(3)]),
    "zeros_add": (lambda x: x + jnp.zeros(3), [f32(3)]),
    "closure_const": (lambda x: x + CONST, [f32(3)]),
    "integer_pow": (lambda x: x**2 + x**3, [f32(3)]),
    "clip": (lambda x: jnp.clip(x, 0.0, 1.0), [f32(3)]),
    "top_k": (lambda x: lax.top_k(x, 2), [f32(5)]),
    "switch": (lambda i, x: lax.switch(i, [lambda v: v, lambda v: v * 2.0, lambda v: -v], x), [i32(), f32(3)]),
    "take": (lambda x, idx: jnp.take(x, idx, axis=0), [f32(4, 3), i32(2)]),
    "exp_literal": (lambda x: x + jnp.exp(1.5), [f32(3)]),
    "weak_scalar_arg": (lambda x, s: x * s, [f32(3), 2.5]),
    "grad_sin_mul": (jax.grad(lambda x: jnp.sum(jnp.sin(x) * x)), [f32(3)]),
    "grad_exp_sum": (jax.grad(lambda x: jnp.exp(x).sum()), [f32(3)]),
    "grad_tanh_matmul": (jax.grad(lambda w, x: jnp.sum(jnp.tanh(x @ w))), [f32(3, 2), f32(4, 3)]),
}


# jnp wraps these functions in an inner jit; wgjax's numpy does not, so they are compared with JAX's
# jaxpr under disable_jit (which inlines those inner jits). A documented difference.
INLINED = {"where", "clip", "cumsum", "take"}


def main():
    out = {"meta": {"jax": jax.__version__, "inlined": sorted(INLINED)}}
    for name, (fn, args) in PROGRAMS.items():
        if name in INLINED:
            with jax.disable_jit():
                out[name] = str(jax.make_jaxpr(fn)(*args))
        else:
            out[name] = str(jax.make_jaxpr(fn)(*args))
    path = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "jaxprs.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
