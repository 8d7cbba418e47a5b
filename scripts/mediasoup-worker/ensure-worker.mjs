#!/usr/bin/env node
/**
 * Puts a working mediasoup-worker binary where mediasoup looks for it
 * (node_modules/mediasoup/worker/out/Release/mediasoup-worker), the project's
 * own way. `npm install` / `npm ci` run it (package.json "postinstall" with
 * --postinstall); `npm run mediasoup-worker` runs it by hand.
 *
 * Why: mediasoup's own postinstall downloads a prebuilt worker from GitHub or
 * builds it with pip and meson subprojects from the internet; neither works
 * where only the npm registry and Debian's apt repositories are reachable.
 * package.json denies that script ("allowScripts": {"mediasoup": false}) and
 * this one does instead, in order:
 *
 *  1. the binary is already in place, runs and carries Herald's patches
 *     (herald-patches.py; its marker `herald-worker-patches:N` is in the
 *     binary): nothing to do;
 *  2. the cache has one for this mediasoup version and patch level and it
 *     runs: copy it in (seconds). The cache lives outside the clone, keyed by
 *     both, so fresh clones and CI on the same machine reuse one 7-minute build:
 *       ${HERALD_MEDIASOUP_CACHE:-${XDG_CACHE_HOME:-~/.cache}/herald/mediasoup-worker}/<version>-herald<N>/mediasoup-worker
 *     A copy, not a symlink or MEDIASOUP_WORKER_BIN: `npm start` and the tests
 *     find it without any environment, and it survives a cleaned cache;
 *  3. otherwise build it (build.sh, from Debian bookworm packages only) into
 *     the cache, then copy it in. The packages of debian-packages.txt that are
 *     missing are installed with apt-get when running as root; a user who is
 *     not root is shown the exact command instead, and the install still
 *     succeeds: the server then runs signaling only and says, when
 *     HERALD_MEDIA=on, that media is unavailable and how to build the worker.
 *
 * Environment: HERALD_MEDIASOUP_CACHE (cache root, see above);
 * HERALD_MEDIASOUP_BUILD=skip (never build; print what to do instead);
 * MEDIASOUP_WORKER_BIN (mediasoup's own: a binary of your choice, used as is).
 *
 * Plain JavaScript with no dependencies: it runs before `prepare` builds the
 * TypeScript and also where devDependencies are not installed.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '..', '..');
const postinstall = process.argv.includes('--postinstall');

const say = (line) => process.stdout.write(`herald mediasoup-worker: ${line}\n`);
const warn = (line) => process.stderr.write(`herald mediasoup-worker: ${line}\n`);

/** During npm install a missing worker must not fail the install (signaling works without it); by hand it is an error. */
function giveUp(lines) {
  for (const line of lines) warn(line);
  process.exit(postinstall ? 0 : 1);
}

/** mediasoup's own test for a worker binary: without MEDIASOUP_VERSION it exits with 41 once it has started (linked, loaded). */
function runs(bin) {
  if (!existsSync(bin)) return false;
  const r = spawnSync(bin, [], { env: {}, stdio: 'ignore', timeout: 10_000 });
  return r.status === 41;
}

/** Herald's worker patch level: herald-patches.py's PATCH_LEVEL (raise both together). */
const PATCH_LEVEL = 1;

/** A worker that runs and was built with this patch level (its marker string is in the binary). */
function runsPatched(bin) {
  return runs(bin) && readFileSync(bin).includes(`herald-worker-patches:${PATCH_LEVEL}\0`);
}

function mediasoupDir() {
  try {
    // node/lib/index.js is mediasoup's entry point; the package is two folders up.
    return resolve(dirname(createRequire(join(ROOT, 'package.json')).resolve('mediasoup')), '..', '..');
  } catch {
    return null;
  }
}

function placeCopy(from, to) {
  mkdirSync(dirname(to), { recursive: true });
  const tmp = `${to}.tmp.${process.pid}`;
  copyFileSync(from, tmp);
  chmodSync(tmp, 0o755);
  renameSync(tmp, to);
}

function missingPackages(packages) {
  return packages.filter((p) => {
    const r = spawnSync('dpkg-query', ['-W', '-f=${Status}', p], { encoding: 'utf8' });
    return r.status !== 0 || !r.stdout.includes('install ok installed');
  });
}

const msDir = mediasoupDir();
if (msDir === null) {
  say('mediasoup is not installed; nothing to do');
  process.exit(0);
}
const version = JSON.parse(readFileSync(join(msDir, 'package.json'), 'utf8')).version;
const target = join(msDir, 'worker', 'out', 'Release', 'mediasoup-worker');

if (process.env.MEDIASOUP_WORKER_BIN && process.env.MEDIASOUP_WORKER_BIN !== 'skip') {
  say(`MEDIASOUP_WORKER_BIN is set; mediasoup will run ${process.env.MEDIASOUP_WORKER_BIN}`);
  process.exit(0);
}
if (runsPatched(target)) {
  say(`mediasoup ${version}: worker present (${target})`);
  process.exit(0);
}

const cacheRoot =
  process.env.HERALD_MEDIASOUP_CACHE ||
  join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'herald', 'mediasoup-worker');
const cached = join(cacheRoot, `${version}-herald${PATCH_LEVEL}`, 'mediasoup-worker');
if (runsPatched(cached)) {
  placeCopy(cached, target);
  say(`mediasoup ${version}: worker copied from the cache (${cached})`);
  process.exit(0);
}

const manual = 'npm run mediasoup-worker';
const isRoot = process.getuid?.() === 0;
if (spawnSync('dpkg-query', ['--version'], { stdio: 'ignore' }).status !== 0) {
  giveUp([
    `mediasoup ${version}: no worker binary, and this is not a Debian system: media (HERALD_MEDIA=on) is unavailable.`,
    `Build ${target} yourself (see node_modules/mediasoup's documentation) or set MEDIASOUP_WORKER_BIN.`,
  ]);
}
const packages = readFileSync(join(HERE, 'debian-packages.txt'), 'utf8')
  .split('\n')
  .map((l) => l.replace(/#.*/, '').trim())
  .filter((l) => l !== '');
const missing = missingPackages(packages);
const aptCommand = `apt-get update && apt-get install -y --no-install-recommends ${missing.join(' ')}`;
if (process.env.HERALD_MEDIASOUP_BUILD === 'skip') {
  giveUp([
    `mediasoup ${version}: no worker binary and HERALD_MEDIASOUP_BUILD=skip: media (HERALD_MEDIA=on) is unavailable.`,
    ...(missing.length > 0 ? [`To build it (about 7 minutes, once per machine), as root: ${aptCommand}`, `then: ${manual}`] : [`To build it (about 7 minutes, once per machine): ${manual}`]),
  ]);
}
if (missing.length > 0) {
  if (!isRoot) {
    giveUp([
      `mediasoup ${version}: no worker binary; building it needs Debian packages that are missing.`,
      'Media (HERALD_MEDIA=on) is unavailable until it is built; signaling works without it.',
      'Run as root:',
      `  ${aptCommand}`,
      `then, in ${ROOT} (about 7 minutes, once per machine; cached in ${dirname(cached)}):`,
      `  ${manual}`,
    ]);
  }
  say(`installing Debian packages: ${missing.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  // apt-get update only when something is missing: it is slow and the lists may simply be stale.
  for (const args of [['update', '-qq'], ['install', '-y', '-qq', '--no-install-recommends', ...missing]]) {
    // dpkg's progress is noise in an npm log; it is shown only when apt-get fails.
    const r = spawnSync('apt-get', args, { stdio: ['ignore', 'pipe', 'pipe'], env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    if (r.status !== 0) {
      process.stderr.write(`${r.stdout ?? ''}${r.stderr ?? ''}`);
      warn(`apt-get ${args[0]} failed (exit ${r.status ?? r.signal ?? r.error?.message}); media (HERALD_MEDIA=on) is unavailable.`);
      process.exit(1);
    }
  }
}

say(`mediasoup ${version}: building the worker from Debian packages (about 7 minutes on 2 cores; cached in ${dirname(cached)})`);
const started = Date.now();
const build = spawnSync('bash', [join(HERE, 'build.sh'), msDir, cached], { stdio: ['ignore', 'inherit', 'inherit'] });
if (build.status !== 0 || !runsPatched(cached)) {
  const lines = [
    `mediasoup ${version}: building the worker failed (exit ${build.status ?? build.signal}); media (HERALD_MEDIA=on) is unavailable.`,
    `Retry with: ${manual}`,
  ];
  // As root (CI, the documented setup) a failed build is an error to see; a user install still succeeds.
  for (const line of lines) warn(line);
  process.exit(isRoot || !postinstall ? 1 : 0);
}
placeCopy(cached, target);
say(`mediasoup ${version}: worker built in ${Math.round((Date.now() - started) / 1000)} s, cached at ${cached}, installed at ${target}`);
