"""Golden values from real JAX for ragged_dot / ragged_dot_general and gmm-equivalent calls, with their VJPs.

Run: /tmp/jaxenv/bin/python scripts/gen_gmm_fixtures.py   (CPU only; deterministic; default JAX config, x64 off)
(the venv: python3 -m venv /tmp/jaxenv && /tmp/jaxenv/bin/pip install jax jaxlib ml_dtypes)
Writes tests/fixtures/ragged_dot.json; the TypeScript tests read only the JSON. Arrays are flattened row-major
beside their shape and dtype. Modes 2 and 3 have no transpose in JAX, so their VJPs are jax.vjp of a per-group
einsum formulation (checked to agree with ragged_dot_general's forward value here). The batched-group-size cases
draw from their own generator, so the earlier cases' values do not move.
"""
import json
import os
import pathlib

os.environ["JAX_PLATFORMS"] = "cpu"

import jax
import jax.numpy as jnp
import ml_dtypes
import numpy as np

OUT = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "ragged_dot.json"
rng = np.random.default_rng(20261129)
batched_rng = np.random.default_rng(20261130)


def arr(x):
    x = np.asarray(x)
    return {"shape": list(x.shape), "dtype": str(x.dtype), "values": [float(v) if x.dtype.kind == "f" or x.dtype == jnp.bfloat16 else int(v) for v in x.astype(np.float64 if x.dtype.kind == "f" or x.dtype == jnp.bfloat16 else np.int64).ravel()]}


def rand(shape, dtype=np.float32, gen=rng):
    return gen.standard_normal(shape).astype(np.float32).astype(dtype)


def dims(contract, batch, ragged, group):
    return jax.lax.RaggedDotDimensionNumbers(dot_dimension_numbers=(contract, batch), lhs_ragged_dimensions=ragged, rhs_group_dimensions=group)


def mode_case(name, lhs, rhs, gs, dn, preferred=None, reference=None, gen=rng):
    gs = np.asarray(gs, np.int32)
    f = lambda a, b: jax.lax.ragged_dot_general(a, b, gs, dn, preferred_element_type=preferred)
    out = f(lhs, rhs)
    entry = {"name": name, "lhs": arr(lhs), "rhs": arr(rhs), "group_sizes": arr(gs), "preferred": None if preferred is None else str(np.dtype(preferred)),
             "dimension_numbers": {"contract": [list(d) for d in dn.dot_dimension_numbers[0]], "batch": [list(d) for d in dn.dot_dimension_numbers[1]],
                                   "lhs_ragged": list(dn.lhs_ragged_dimensions), "rhs_group": list(dn.rhs_group_dimensions)}, "out": arr(out)}
    ct = rand(out.shape, out.dtype, gen)
    if reference is not None:
        np.testing.assert_allclose(np.asarray(reference(lhs, rhs), np.float32), np.asarray(out, np.float32), rtol=1e-5, atol=1e-5)
        f = reference
    _, pullback = jax.vjp(f, lhs, rhs)
    dlhs, drhs = pullback(ct)
    entry.update({"cotangent": arr(ct), "dlhs": arr(dlhs), "drhs": arr(drhs)})
    return entry


def owners(gs, m):
    return np.repeat(np.arange(len(gs)), gs).tolist() + [len(gs)] * (m - int(np.sum(gs)))


def onehot(gs, m):
    """float32 [..., m, g]: whether row m belongs to group g, for group sizes [..., g] (each leading index its own)."""
    gs = np.asarray(gs)
    if gs.ndim > 1:
        return np.stack([onehot(row, m) for row in gs])
    return np.eye(len(gs) + 1, dtype=np.float32)[owners(gs, m)][:, : len(gs)]


def contracting_reference(gs, m, spec="mg,mk,mn->gkn"):
    """Mode 2 as an einsum of the one-hot groups with lhs and rhs; by default lhs [m, k], rhs [m, n] ragged on m:
    out[j] = lhs[rows j].T @ rhs[rows j]."""
    groups = jnp.asarray(onehot(gs, m))
    return lambda a, b: jnp.einsum(spec, groups, a, b)


def gmm_case(name, m, k, n, gs, group_offset, local, transpose_rhs=False):
    """gmm of `local` groups from `group_offset` via the group-offset emulation of ragged_dot (spec §C.3)."""
    gs = np.asarray(gs, np.int32)
    lhs = rand((m, k))
    rhs = rand((local, n, k) if transpose_rhs else (local, k, n))
    before, after = int(gs[:group_offset].sum()), int(gs[group_offset + local:].sum())
    padded = np.asarray([before, *gs[group_offset:group_offset + local], after], np.int32)

    def f(a, b):
        w = jnp.swapaxes(b, 1, 2) if transpose_rhs else b
        zero = jnp.zeros((1, k, n), w.dtype)
        return jax.lax.ragged_dot(a, jnp.concatenate([zero, w, zero]), padded)

    out, pullback = jax.vjp(f, lhs, rhs)
    ct = rand(out.shape)
    dlhs, drhs = pullback(ct)
    return {"name": name, "lhs": arr(lhs), "rhs": arr(rhs), "group_sizes": arr(gs), "group_offset": group_offset, "transpose_rhs": transpose_rhs,
            "out": arr(out), "cotangent": arr(ct), "dlhs": arr(dlhs), "drhs": arr(drhs)}


def main():
    bf16 = jnp.bfloat16
    cases = [
        mode_case("ragged_dot: rows past sum(groupSizes), an empty group", rand((7, 3)), rand((3, 3, 4)), [2, 0, 3], dims(([1], [1]), ([], []), [0], [0])),
        mode_case("ragged non-contracting with rhs [g, n, k]", rand((6, 5)), rand((2, 3, 5)), [4, 2], dims(([1], [2]), ([], []), [0], [0])),
        mode_case("ragged non-contracting with a batch dim", rand((2, 5, 3)), rand((3, 2, 3, 4)), [1, 3, 1], dims(([2], [2]), ([0], [1]), [1], [0])),
        mode_case("ragged contracting (a leading group dim)", rand((6, 3)), rand((6, 4)), [2, 1, 0, 2], dims(([0], [0]), ([], []), [0], []), reference=contracting_reference([2, 1, 0, 2], 6)),
        mode_case("ragged batch (group sizes ignored)", rand((2, 3, 4)), rand((2, 4, 5)), [1, 1], dims(([2], [1]), ([0], [0]), [0], []), reference=lambda a, b: jnp.einsum("bmk,bkn->bmn", a, b)),
        mode_case("bfloat16 operands, float32 result", rand((5, 4), bf16), rand((2, 4, 3), bf16), [3, 2], dims(([1], [1]), ([], []), [0], [0]), preferred=np.float32),
    ]
    b = lambda shape: rand(shape, gen=batched_rng)
    contracting_gs, unsorted_gs = [[2, 1, 3], [0, 4, 1]], [[1, 2], [3, 0], [0, 2], [2, 1]]
    cases += [
        mode_case("batched group sizes [b, g], ragged non-contracting", b((2, 5, 3)), b((3, 2, 3, 4)), [[1, 3, 1], [2, 0, 2]], dims(([2], [2]), ([0], [1]), [1], [0]), gen=batched_rng),
        mode_case("batched group sizes [b, x, g], ragged non-contracting, lhs [x, b, m, k]", b((2, 3, 4, 3)), b((2, 3, 3, 2)), [[[1, 3], [2, 2]], [[0, 3], [4, 0]], [[1, 1], [2, 1]]],
                  dims(([3], [2]), ([1], [1]), [2], [0]), gen=batched_rng),
        mode_case("batched group sizes [b, g], ragged contracting", b((2, 3, 6)), b((2, 6, 4)), contracting_gs, dims(([2], [1]), ([0], [0]), [2], []),
                  reference=contracting_reference(contracting_gs, 6, "bkg,bmk,bkn->gbmn"), gen=batched_rng),
        mode_case("batched group sizes [k2, g], ragged contracting on k1 listed after k2", b((2, 3, 4)), b((4, 3, 2)), unsorted_gs, dims(([2, 1], [0, 1]), ([], []), [1], []),
                  reference=contracting_reference(unsorted_gs, 3, "jig,mij,jin->gmn"), gen=batched_rng),
        mode_case("batched group sizes [b1, g], ragged batch (group sizes ignored)", b((2, 3, 2, 3)), b((2, 3, 3, 2)), [[1, 1], [0, 3]], dims(([3], [2]), ([0, 1], [0, 1]), [1], []),
                  reference=lambda x, y: jnp.einsum("abmk,abkn->abmn", x, y), gen=batched_rng),
    ]
    gmm_cases = [
        gmm_case("gmm, groupOffset 1 of 4 groups, 2 local", 9, 3, 4, [2, 3, 1, 2], 1, 2),
        gmm_case("gmm, groupOffset 2, transposeRhs", 8, 4, 3, [1, 2, 2, 2], 2, 2, transpose_rhs=True),
        gmm_case("gmm, all groups, sum(groupSizes) < m", 10, 3, 2, [3, 0, 4, 2], 0, 4),
    ]
    meta = {"jax": jax.__version__, "ml_dtypes": ml_dtypes.__version__}
    OUT.write_text(json.dumps({"meta": meta, "ragged_dot_general": cases, "gmm": gmm_cases}) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
