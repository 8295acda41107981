/**
 * A small Wadler-style pretty printer (the one JAX uses for jaxprs): a group is laid out flat when the
 * whole group fits in the remaining width, otherwise its breaks become newlines at the nesting indent.
 */

export type Doc =
  | { readonly kind: "nil" }
  | { readonly kind: "text"; readonly text: string }
  | { readonly kind: "concat"; readonly children: readonly Doc[] }
  | { readonly kind: "break"; readonly text: string }
  | { readonly kind: "group"; readonly child: Doc }
  | { readonly kind: "nest"; readonly indent: number; readonly child: Doc };

export const nil: Doc = { kind: "nil" };
export const text = (t: string): Doc => ({ kind: "text", text: t });
export const concat = (...children: Doc[]): Doc => ({ kind: "concat", children });
export const brk = (t = " "): Doc => ({ kind: "break", text: t });
export const group = (child: Doc): Doc => ({ kind: "group", child });
export const nest = (indent: number, child: Doc): Doc => ({ kind: "nest", indent, child });

export function join(separator: Doc, docs: readonly Doc[]): Doc {
  if (docs.length === 0) return nil;
  const out: Doc[] = [docs[0]!];
  for (const d of docs.slice(1)) out.push(separator, d);
  return concat(...out);
}

type Mode = "flat" | "break";
interface State {
  indent: number;
  mode: Mode;
  doc: Doc;
}

/** Whether `doc` laid out flat fits in `width` columns (only the group itself is measured, as JAX does). */
function fits(doc: Doc, width: number): boolean {
  const agenda: Doc[] = [doc];
  while (width >= 0 && agenda.length > 0) {
    const d = agenda.pop()!;
    switch (d.kind) {
      case "text":
      case "break":
        width -= d.text.length;
        break;
      case "concat":
        for (let i = d.children.length - 1; i >= 0; i--) agenda.push(d.children[i]!);
        break;
      case "group":
      case "nest":
        agenda.push(d.child);
        break;
      case "nil":
        break;
    }
  }
  return width >= 0;
}

function hasBreak(doc: Doc): boolean {
  switch (doc.kind) {
    case "break":
      return true;
    case "concat":
      return doc.children.some(hasBreak);
    case "group":
    case "nest":
      return hasBreak(doc.child);
    default:
      return false;
  }
}

export function format(doc: Doc, width = 80): string {
  const out: string[] = [];
  let column = 0;
  const agenda: State[] = [{ indent: 0, mode: "break", doc }];
  while (agenda.length > 0) {
    const { indent, mode, doc: d } = agenda.pop()!;
    switch (d.kind) {
      case "nil":
        break;
      case "text":
        out.push(d.text);
        column += d.text.length;
        break;
      case "concat":
        for (let i = d.children.length - 1; i >= 0; i--) agenda.push({ indent, mode, doc: d.children[i]! });
        break;
      case "nest":
        agenda.push({ indent: indent + d.indent, mode, doc: d.child });
        break;
      case "group": {
        const flat = mode === "flat" || (hasBreak(d.child) && fits(d.child, width - column));
        agenda.push({ indent, mode: flat ? "flat" : "break", doc: d.child });
        break;
      }
      case "break":
        if (mode === "break") {
          out.push("\n" + " ".repeat(indent));
          column = indent;
        } else {
          out.push(d.text);
          column += d.text.length;
        }
        break;
    }
  }
  return out.join("");
}
