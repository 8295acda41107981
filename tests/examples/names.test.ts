/**
 * The names demo: its data (names split 90/10, examples per character and end), the training loop learning (the
 * loss falls within a few dozen steps), and the CLI as a user runs it (`npm run demo -- --steps 20`): it names
 * the device, prints the loss table beside the bigram baseline, writes the SVG loss curve and samples names.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { END, examples, loadNames } from "../../examples/names/data.js";
import { train } from "../../examples/names/train.js";

describe("the names dataset", () => {
  it("is the @stdlib first names, deduplicated and split 90/10, one example per character and end", () => {
    const data = loadNames(0);
    const total = data.train.length + data.valid.length;
    expect(total).toBeGreaterThan(7000);
    expect(new Set([...data.train, ...data.valid]).size).toBe(total);
    expect(Math.abs(data.valid.length / total - 0.1)).toBeLessThan(0.01);
    expect(data.vocab[0]).toBe(END);
    const e = examples(["ab"], data.vocab, 3);
    const id = (ch: string): number => data.vocab.indexOf(ch);
    expect(Array.from(e.contexts)).toEqual([0, 0, 0, 0, 0, id("a"), 0, id("a"), id("b")]);
    expect(Array.from(e.targets)).toEqual([id("a"), id("b"), 0]);
  });
});

describe("training", () => {
  it("lowers the loss within a few dozen steps on the cpu device", async () => {
    const r = await train({ device: "cpu", backend: "cpu", quantization: null, steps: 40, seed: 3, batch: 128 });
    const losses = r.curve.map(([, l]) => l);
    const late = losses.slice(-5).reduce((a, b) => a + b, 0) / 5;
    expect(late).toBeLessThan(losses[0]! - 0.5);
    expect(r.validLoss).toBeLessThan(Math.log(r.model.vocab));
  });
});

describe("the CLI", () => {
  it("npm run demo -- --steps 20 names the device, prints the table, writes the picture and samples names", () => {
    const out = join(mkdtempSync(join(tmpdir(), "wgjax-demo-")), "loss.svg");
    const text = execFileSync("npm", ["run", "-s", "demo", "--", "--steps", "20", "--out", out], { encoding: "utf8", timeout: 240_000 });
    expect(text).toMatch(/^device: (cpu|webgpu)/m);
    expect(text).toMatch(/^validation\s+\d\.\d{4}/m);
    expect(text).toMatch(/^bigram baseline \(validation\)\s+\d\.\d{4}/m);
    expect(text).toContain(`loss curve written to ${out}`);
    expect(existsSync(out) && readFileSync(out, "utf8").startsWith("<svg")).toBe(true);
    expect(text.match(/twenty sampled names: (.*)/)![1]!.split(", ")).toHaveLength(20);
  }, 300_000);
});
