/**
 * Pytrees: nested JS arrays, plain objects, `null`/`undefined` (JAX's None: a node without leaves) and
 * user-registered node types, with Arrays and scalars as leaves. Object keys are sorted, as JAX sorts dict keys.
 */
import { ArgumentError } from "./errors.js";

export interface NodeType<T = unknown, C = unknown> {
  readonly name: string;
  /** Children (a list of subtrees) and static auxiliary data that must match for trees to be equal. */
  flatten(node: T): [unknown[], C];
  unflatten(aux: C, children: unknown[]): T;
}

const registered = new Map<abstract new (...args: never[]) => unknown, NodeType<never, unknown>>();

/** Registers a class as a pytree node, so transformations see inside its instances. */
export function registerNode<T, C>(cls: abstract new (...args: never[]) => T, type: NodeType<T, C>): void {
  if (registered.has(cls)) throw new ArgumentError(`registerNode: ${cls.name} is already registered`);
  registered.set(cls, type as unknown as NodeType<never, unknown>);
}

type Kind = "leaf" | "none" | "array" | "object" | "custom";

export class TreeDef {
  constructor(
    readonly kind: Kind,
    readonly children: readonly TreeDef[] = [],
    /** Object keys, the custom node's aux data, or whether a None was `undefined`. */
    readonly meta: unknown = null,
    readonly nodeType?: NodeType<never, unknown>,
  ) {}

  get numLeaves(): number {
    return this.kind === "leaf" ? 1 : this.children.reduce((n, c) => n + c.numLeaves, 0);
  }

  equals(other: TreeDef): boolean {
    return this.toString() === other.toString();
  }

  /** JAX's form: `PyTreeDef([*, {'a': *, 'b': None}])`. */
  toString(): string {
    return `PyTreeDef(${this.describe()})`;
  }

  private describe(): string {
    switch (this.kind) {
      case "leaf":
        return "*";
      case "none":
        return "None";
      case "array":
        return `[${this.children.map((c) => c.describe()).join(", ")}]`;
      case "object":
        return `{${(this.meta as string[]).map((k, i) => `'${k}': ${this.children[i]!.describe()}`).join(", ")}}`;
      case "custom":
        return `CustomNode(${this.nodeType!.name}[${JSON.stringify(this.meta)}], [${this.children.map((c) => c.describe()).join(", ")}])`;
    }
  }
}

const isPlainObject = (x: unknown): x is Record<string, unknown> =>
  typeof x === "object" && x !== null && (Object.getPrototypeOf(x) === Object.prototype || Object.getPrototypeOf(x) === null);

function nodeTypeOf(x: unknown): NodeType<never, unknown> | undefined {
  if (typeof x !== "object" || x === null) return undefined;
  for (let proto = Object.getPrototypeOf(x); proto; proto = Object.getPrototypeOf(proto)) {
    const type = registered.get(proto.constructor);
    if (type) return type;
  }
  return undefined;
}

/** Leaves in order, and the structure to rebuild the tree. `isLeaf` can stop the descent early. */
export function flatten(tree: unknown, isLeaf?: (x: unknown) => boolean): [unknown[], TreeDef] {
  const leaves: unknown[] = [];
  const walk = (x: unknown): TreeDef => {
    if (isLeaf?.(x)) {
      leaves.push(x);
      return new TreeDef("leaf");
    }
    if (x === null || x === undefined) return new TreeDef("none", [], x === undefined);
    if (Array.isArray(x)) return new TreeDef("array", x.map(walk));
    const custom = nodeTypeOf(x);
    if (custom) {
      const [children, aux] = custom.flatten(x as never);
      return new TreeDef("custom", children.map(walk), aux, custom);
    }
    if (isPlainObject(x)) {
      const keys = Object.keys(x).sort();
      return new TreeDef("object", keys.map((k) => walk(x[k])), keys);
    }
    leaves.push(x);
    return new TreeDef("leaf");
  };
  const def = walk(tree);
  return [leaves, def];
}

export function unflatten(def: TreeDef, leaves: readonly unknown[]): unknown {
  if (leaves.length !== def.numLeaves) {
    throw new ArgumentError(`unflatten: the tree structure ${def.toString()} has ${def.numLeaves} leaves, got ${leaves.length}`);
  }
  let i = 0;
  const build = (d: TreeDef): unknown => {
    switch (d.kind) {
      case "leaf":
        return leaves[i++];
      case "none":
        return d.meta ? undefined : null;
      case "array":
        return d.children.map(build);
      case "object":
        return Object.fromEntries((d.meta as string[]).map((k, j) => [k, build(d.children[j]!)]));
      case "custom":
        return d.nodeType!.unflatten(d.meta as never, d.children.map(build));
    }
  };
  return build(def);
}

export const leaves = (tree: unknown, isLeaf?: (x: unknown) => boolean): unknown[] => flatten(tree, isLeaf)[0];
export const structure = (tree: unknown, isLeaf?: (x: unknown) => boolean): TreeDef => flatten(tree, isLeaf)[1];

/** Applies `fn` to the leaves of `tree` and of the `rest` trees (which must have tree's structure). */
export function map(fn: (...xs: never[]) => unknown, tree: unknown, ...rest: unknown[]): unknown {
  const [xs, def] = flatten(tree);
  const others = rest.map((r, k) => {
    const [ys, d] = flatten(r);
    if (!d.equals(def)) throw new ArgumentError(`tree.map: tree ${k + 1} has structure ${d.toString()}, expected ${def.toString()}`);
    return ys;
  });
  return unflatten(def, xs.map((x, i) => (fn as (...a: unknown[]) => unknown)(x, ...others.map((o) => o[i]))));
}
