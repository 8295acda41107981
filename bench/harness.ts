/** Benchmark harness: median of several timed runs after warm-up, and a table with ratios against a comparison run. */
import type { Array as JaxArray } from "../src/index.js";

/**
 * Reads results (arrays, or nested lists of them) to the host and frees them: jax-js's `data()` frees its arrays
 * (they move), so both sides give their result buffers back for the next run instead of one side waiting for
 * the garbage collector.
 */
export async function readAndFree(outs: unknown): Promise<void> {
  for (const x of [outs].flat(3) as JaxArray[]) {
    await x.data();
    x.dispose();
  }
}

export interface Row {
  name: string;
  medianMs: number;
  /** Work done per run, to print a rate (GFLOP/s or GB/s). */
  rate?: { amount: number; unit: "GFLOP/s" | "GB/s" };
  /** Print the medians in µs instead of ms (for per-call overheads). */
  unit?: "µs";
  comparison?: { name: string; medianMs: number };
}

export async function median(run: () => unknown | Promise<unknown>, { warmup = 2, runs = 7 } = {}): Promise<number> {
  for (let i = 0; i < warmup; i++) await run();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await run();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

const fmtRate = (row: Row, ms: number): string => (row.rate ? `${(row.rate.amount / (ms / 1000) / 1e9).toFixed(2)} ${row.rate.unit}` : "");

export function printTable(rows: readonly Row[]): void {
  const lines = [["benchmark", "median", "rate", "comparison", "its median", "its rate", "ratio (comparison / ours)"]];
  const time = (row: Row, ms: number): string => (row.unit === "µs" ? `${(ms * 1000).toFixed(1)} µs` : `${ms.toFixed(3)} ms`);
  for (const row of rows) {
    const c = row.comparison;
    lines.push([
      row.name,
      time(row, row.medianMs),
      fmtRate(row, row.medianMs),
      c?.name ?? "",
      c ? time(row, c.medianMs) : "",
      c ? fmtRate(row, c.medianMs) : "",
      c ? (c.medianMs / row.medianMs).toFixed(2) : "",
    ]);
  }
  const widths = lines[0]!.map((_, i) => Math.max(...lines.map((l) => l[i]!.length)));
  for (const [k, l] of lines.entries()) {
    console.log(l.map((cell, i) => cell.padEnd(widths[i]!)).join("  "));
    if (k === 0) console.log(widths.map((w) => "-".repeat(w)).join("  "));
  }
}
