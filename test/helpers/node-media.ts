/** A running Herald's media counts, from its /v1/Node (what e2e media tests check for leaks). */
import type { HeraldProcess } from './herald-process.js';

export interface NodeMedia {
  status: string;
  routers: number;
  transports: number;
  producers: number;
  consumers: number;
}

export async function nodeMedia(herald: HeraldProcess): Promise<NodeMedia> {
  const res = await fetch(`http://127.0.0.1:${herald.listeners.http!.port}/v1/Node`);
  return ((await res.json()) as { media: NodeMedia }).media;
}

/** Polls /v1/Node until no router, transport, producer or consumer is left (closing is asynchronous: the BYE is answered first). */
export async function mediaBecomesEmpty(herald: HeraldProcess, timeoutMs = 10_000): Promise<NodeMedia> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = await nodeMedia(herald);
    if (m.routers === 0 && m.transports === 0 && m.producers === 0 && m.consumers === 0) return m;
    if (Date.now() > deadline) throw new Error(`media left behind: ${JSON.stringify(m)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
