/** Settings read from the environment (Node's process.env; absent in browsers, where every setting is unset). */

/** The value of environment variable `name`, or undefined. */
export function envSetting(name: string): string | undefined {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  return env?.[name] || undefined;
}

/** True when WGJAX_DUMP (a comma-separated list: plan, wgsl) names `what`: the lowering prints it as it is made. */
export const dumps = (what: "plan" | "wgsl"): boolean => (envSetting("WGJAX_DUMP") ?? "").split(",").includes(what);
