/** Starts serving `folder` on 127.0.0.1 (`port` 0: any free port); resolves to its URL and a function that stops it. */
export function serveFolder(folder: string, port?: number): Promise<{ url: string; close: () => Promise<void> }>;
