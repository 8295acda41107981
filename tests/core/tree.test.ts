import { describe, expect, it } from "vitest";
import { numpy as np, tree } from "../../src/index.js";
import { registerNode } from "../../src/core/tree.js";

class Point {
  constructor(
    readonly x: unknown,
    readonly y: unknown,
    readonly label: string,
  ) {}
}
registerNode(Point, {
  name: "Point",
  flatten: (p: Point) => [[p.x, p.y], p.label],
  unflatten: (label: string, [x, y]) => new Point(x, y, label),
});

describe("pytrees", () => {
  it("flattens arrays, objects (sorted keys) and None leaves, and rebuilds them", () => {
    const a = np.array([1]);
    const value = { b: [1, a], a: null, c: { z: 2, y: undefined } };
    const [leaves, def] = tree.flatten(value);
    expect(leaves.length).toBe(3);
    expect([leaves[0], leaves[2]]).toEqual([1, 2]);
    expect(leaves[1]).toBe(a);
    expect(def.toString()).toBe("PyTreeDef({'a': None, 'b': [*, *], 'c': {'y': None, 'z': *}})");
    expect(def.numLeaves).toBe(3);
    expect(tree.unflatten(def, [10, 20, 30])).toEqual({ a: null, b: [10, 20], c: { y: undefined, z: 30 } });
    expect(() => tree.unflatten(def, [1])).toThrow(/has 3 leaves, got 1/);
  });

  it("maps over several trees of the same structure", () => {
    expect(tree.map((x: number, y: number) => x + y, [1, { a: 2 }], [10, { a: 20 }])).toEqual([11, { a: 22 }]);
    expect(() => tree.map((x: number) => x, [1], [1, 2])).toThrow(/structure/);
  });

  it("leaves, structure, and registered node types", () => {
    const p = new Point(1, [2, 3], "p");
    expect(tree.leaves(p)).toEqual([1, 2, 3]);
    expect(tree.structure(p).toString()).toBe('PyTreeDef(CustomNode(Point["p"], [*, [*, *]]))');
    const q = tree.map((v: number) => v * 2, p) as Point;
    expect(q).toBeInstanceOf(Point);
    expect([q.x, q.y, q.label]).toEqual([2, [4, 6], "p"]);
    expect(tree.structure(p).equals(tree.structure(new Point(0, [0, 0], "p")))).toBe(true);
    expect(tree.structure(p).equals(tree.structure(new Point(0, [0, 0], "q")))).toBe(false);
  });
});
