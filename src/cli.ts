/** `herald serve [--config FILE]` and `herald token …` (CONTRACT §1, §3). */
import { parseArgs } from 'node:util';
import { mintAccessToken } from './auth/access-token.js';
import { ConfigError, loadConfig } from './config/load.js';
import { createLogger } from './log.js';
import { createHeraldServer, type HeraldServer } from './server.js';

const USAGE = `usage:
  herald serve [--config FILE]
  herald token [--config FILE] [--account AC…] [--key SK…] [--secret S] --identity NAME
               [--incoming] [--outgoing-app AP…] [--ttl SECONDS]`;

export async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (command === 'serve') return serve(rest);
  if (command === 'token') return token(rest);
  process.stderr.write(`${USAGE}\n`);
  process.exitCode = command === undefined || command === '--help' || command === 'help' ? 0 : 2;
}

async function serve(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { config: { type: 'string' } } });
  let config;
  try {
    config = loadConfig(values.config);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`herald: bad configuration\n${err.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw err;
  }
  const log = createLogger(config.logLevel, config.nodeId);
  let server: HeraldServer;
  try {
    server = await createHeraldServer(config, log);
  } catch (err) {
    log.error({ err }, 'start failed: cannot reach the store');
    process.exit(1);
  }
  process.on('uncaughtException', (err) => {
    // A bug must not take every call down silently: log it loudly, then exit so a supervisor restarts us.
    log.error({ err }, 'uncaught exception');
    process.exit(70);
  });
  let ready;
  try {
    ready = await server.start();
  } catch (err) {
    log.error({ err }, 'start failed');
    await server.stop().catch(() => undefined);
    process.exit(1);
  }
  // The ready line is part of the contract (CONTRACT §1): printed whatever HERALD_LOG_LEVEL says.
  const readyLog = log.isLevelEnabled('info') ? log : createLogger('info', config.nodeId);
  readyLog.info({ ...ready, config: config.file, store: config.redisUrl ? 'redis' : 'memory' }, 'ready');
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'draining');
    if (signal === 'SIGTERM') await server.drain();
    await server.stop();
    log.info({}, 'stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

function token(argv: string[]): void {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string' },
      account: { type: 'string' },
      key: { type: 'string' },
      secret: { type: 'string' },
      identity: { type: 'string' },
      incoming: { type: 'boolean', default: false },
      'outgoing-app': { type: 'string' },
      ttl: { type: 'string', default: '3600' },
    },
  });
  if (values.identity === undefined) throw new Error(`--identity is required\n${USAGE}`);
  let account = values.account;
  let key = values.key;
  let secret = values.secret;
  if (account === undefined || key === undefined || secret === undefined) {
    const config = loadConfig(values.config);
    const acc = account === undefined ? config.settings.accounts[0] : config.settings.accounts.find((a) => a.sid === account);
    if (acc === undefined) throw new Error(account === undefined ? 'the config file has no account' : `no account ${account} in ${config.file}`);
    const apiKey = key === undefined ? acc.apiKeys[0] : acc.apiKeys.find((k) => k.sid === key);
    if (apiKey === undefined) throw new Error(`account ${acc.sid} has no API key${key === undefined ? '' : ` ${key}`} in ${config.file}`);
    account = acc.sid;
    key = apiKey.sid;
    secret ??= apiKey.secret;
  }
  const ttl = Number(values.ttl);
  process.stdout.write(
    mintAccessToken({
      accountSid: account,
      apiKeySid: key,
      apiKeySecret: secret,
      identity: values.identity,
      incoming: values.incoming,
      ...(values['outgoing-app'] !== undefined ? { outgoingApplicationSid: values['outgoing-app'] } : {}),
      ttl,
    }) + '\n',
  );
}
