// Bundles the demo phone's browser script (web/demo-phone.ts, with SIP.js) into dist/demo/phone.js (CONTRACT §7).
import { build } from 'esbuild';

await build({
  entryPoints: ['web/demo-phone.ts'],
  bundle: true,
  format: 'esm',
  target: 'es2022',
  minify: true,
  sourcemap: true,
  outfile: 'dist/demo/phone.js',
  logLevel: 'warning',
});
