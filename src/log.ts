/** JSON logging (pino). Modules take the small `Log` interface so tests can pass a silent one. */
import { pino } from 'pino';

export interface Log {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export function createLogger(level: string, nodeId: string): pino.Logger {
  return pino({ level, base: { node: nodeId }, timestamp: pino.stdTimeFunctions.isoTime });
}

export const silentLog: Log = { debug() {}, info() {}, warn() {}, error() {} };
