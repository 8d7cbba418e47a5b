/** A Log that keeps what it was told, so a test can check why something happened. */
import type { Log } from '../../../src/log.js';

export interface LogEntry {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly obj: Record<string, unknown>;
  readonly msg: string;
}

export class RecordingLog implements Log {
  readonly entries: LogEntry[] = [];
  private readonly listeners: (() => void)[] = [];

  debug(obj: object, msg = ''): void {
    this.add('debug', obj, msg);
  }
  info(obj: object, msg = ''): void {
    this.add('info', obj, msg);
  }
  warn(obj: object, msg = ''): void {
    this.add('warn', obj, msg);
  }
  error(obj: object, msg = ''): void {
    this.add('error', obj, msg);
  }

  /** The `reason` of every entry with message `msg`. */
  reasons(msg: string): unknown[] {
    return this.entries.filter((e) => e.msg === msg).map((e) => e.obj.reason);
  }

  /** Resolves once an entry with message `msg` is logged. */
  async waitFor(msg: string): Promise<LogEntry> {
    for (;;) {
      const found = this.entries.find((e) => e.msg === msg);
      if (found) return found;
      await new Promise<void>((resolve) => this.listeners.push(resolve));
    }
  }

  private add(level: LogEntry['level'], obj: object, msg: string): void {
    this.entries.push({ level, obj: { ...obj }, msg });
    for (const l of this.listeners.splice(0)) l();
  }
}
