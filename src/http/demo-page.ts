/**
 * `GET /` (CONTRACT §7): the demo phone, one small HTML page and one script,
 * `phone.js`, bundled with SIP.js by esbuild at build time
 * (scripts/build-demo-phone.mjs, source web/demo-phone.ts) into dist/demo/.
 * The page learns the SIP WebSocket port from its own markup.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyPluginAsync } from 'fastify';
import { ApiError } from './errors.js';

export interface DemoPageDeps {
  wsPort: () => number | null;
}

/** dist/http/ → dist/demo/phone.js */
const BUNDLE = join(import.meta.dirname, '..', 'demo', 'phone.js');

function page(wsPort: number | null): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Herald demo phone</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
  body { font-family: sans-serif; max-width: 32em; margin: 2em auto; }
  #state { font-weight: bold; }
  button { margin-right: .5em; }
  li.busy { color: #a60; } li.away, li.dnd { color: #888; }
</style>
</head>
<body data-ws-port="${wsPort ?? ''}">
<h1>Herald demo phone</h1>
<form id="login"><label>Your name <input id="identity" autocomplete="off" required></label> <button>Register</button></form>
<p>State: <span id="state">offline</span> <span id="who"></span></p>
<p><label>Call <input id="to" placeholder="client name or number" autocomplete="off"></label>
<button id="call" type="button">Call</button><button id="answer" type="button">Answer</button><button id="hangup" type="button">Hang up</button></p>
<p id="error" role="alert"></p>
<h2>Clients</h2>
<ul id="clients"></ul>
<audio id="remote" autoplay></audio>
<script type="module" src="/demo/phone.js"></script>
</body>
</html>
`;
}

export const demoPage: FastifyPluginAsync<DemoPageDeps> = async (app, deps) => {
  app.get('/', async (_req, reply) => {
    void reply.type('text/html; charset=utf-8').header('cache-control', 'no-store');
    return page(deps.wsPort());
  });
  app.get('/demo/phone.js', async (_req, reply) => {
    let script: Buffer;
    try {
      script = await readFile(BUNDLE);
    } catch {
      throw new ApiError(404, 'the demo phone script is not built: run `npm run build`');
    }
    void reply.type('text/javascript; charset=utf-8');
    return script;
  });
};
