/**
 * What the call engine asks of an application (CONTRACT §5.3–§5.6):
 *  - `fetchVoice`: the voiceUrl, then the voiceFallbackUrl when the first fails
 *    in any way (connect error, timeout, non-2xx, oversized body, TwiML that
 *    does not parse); both failing gives the reason for the caller's 480;
 *  - `fetchUrl`: a `<Dial action>` or `<Redirect>` URL, whose TwiML continues
 *    the call (no fallback, as with Twilio);
 *  - `statusCallback`: progress events, fire-and-forget: the returned promise
 *    never rejects, errors are logged, and the engine need not await it.
 * Every failure reason is safe to put inside a SIP quoted-string (no quotes,
 * backslashes or control characters) and short.
 */
import { Agent } from 'undici';
import type { LookupFunction } from 'node:net';
import type { ApplicationConfig } from '../config/schema.js';
import { silentLog, type Log } from '../log.js';
import {
  statusCallbackParameters,
  type CallParameters,
  type StatusDetails,
  type StatusEvent,
} from './call-parameters.js';
import { TwimlCache } from './twiml-cache.js';
import type { HttpMethod, Verb } from './twiml-types.js';
import { sendWebhook, type WebhookLimits, type WebhookResponse } from './webhook-request.js';

export interface InstructionsClientOptions {
  /** Default 3000. */
  readonly connectTimeoutMs?: number;
  /** The whole exchange, redirects and body included. Default 10000. */
  readonly timeoutMs?: number;
  /** For status callbacks, which nobody waits for. Default: `timeoutMs`. */
  readonly statusCallbackTimeoutMs?: number;
  /** Default 65536: a TwiML document is small; a larger answer is refused, not buffered. */
  readonly maxBodyBytes?: number;
  /** Default 3. */
  readonly maxRedirects?: number;
  /** Default `Herald`; the server passes `Herald/<version>`. */
  readonly userAgent?: string;
  readonly log?: Log;
  /**
   * Name resolution for webhook hosts (default: the system resolver). A
   * deployment can pin or filter addresses with it; tests use it to make a
   * connect that never completes.
   */
  readonly lookup?: LookupFunction;
}

/** Where the TwiML came from: the engine resolves relative URLs in it against `url`. */
export type InstructionsSource = 'voiceUrl' | 'voiceFallbackUrl' | 'url';

export type InstructionsResult =
  | {
      readonly ok: true;
      readonly verbs: readonly Verb[];
      /** The URL of the document (after redirects, without GET parameters): the base for its relative URLs. */
      readonly url: string;
      readonly source: InstructionsSource;
      /** Attribute values Herald replaced (log them; Twilio's 13xxx warnings). */
      readonly warnings: readonly string[];
    }
  | {
      readonly ok: false;
      /** E.g. `voiceUrl timed out after 10000 ms; voiceFallbackUrl returned HTTP 500`. */
      readonly reason: string;
    };

/** The application fields this client reads; an `ApplicationConfig` fits. */
export type VoiceApplication = Pick<
  ApplicationConfig,
  'voiceUrl' | 'voiceMethod' | 'voiceFallbackUrl' | 'voiceFallbackMethod'
>;
export type StatusApplication = Pick<ApplicationConfig, 'statusCallback' | 'statusCallbackMethod'>;

const MAX_REASON_CHARS = 300;

export class InstructionsClient {
  private readonly agent: Agent;
  private readonly limits: WebhookLimits;
  private readonly statusLimits: WebhookLimits;
  private readonly log: Log;
  private readonly pending = new Set<Promise<void>>();
  private readonly twiml = new TwimlCache();
  private closing: Promise<void> | undefined;

  constructor(options: InstructionsClientOptions = {}) {
    const connectTimeoutMs = options.connectTimeoutMs ?? 3000;
    const timeoutMs = options.timeoutMs ?? 10_000;
    this.limits = {
      connectTimeoutMs,
      timeoutMs,
      maxBodyBytes: options.maxBodyBytes ?? 64 * 1024,
      maxRedirects: options.maxRedirects ?? 3,
      userAgent: options.userAgent ?? 'Herald',
    };
    this.statusLimits = { ...this.limits, timeoutMs: options.statusCallbackTimeoutMs ?? timeoutMs };
    this.log = options.log ?? silentLog;
    this.agent = new Agent({
      connect: { timeout: connectTimeoutMs, ...(options.lookup && { lookup: options.lookup }) },
      // The per-request deadline in sendWebhook is the real limit; these only keep undici's own (300 s) out of the way.
      headersTimeout: Math.max(timeoutMs, this.statusLimits.timeoutMs),
      bodyTimeout: Math.max(timeoutMs, this.statusLimits.timeoutMs),
    });
  }

  /** The application's voiceUrl, then its voiceFallbackUrl (CONTRACT §5.3). */
  async fetchVoice(
    app: VoiceApplication,
    params: CallParameters,
    authToken: string,
  ): Promise<InstructionsResult> {
    const first = await this.fetchTwiml(app.voiceUrl, app.voiceMethod, params, authToken);
    if (first.ok) return { ...first, source: 'voiceUrl' };
    this.log.warn({ url: describeUrl(app.voiceUrl), reason: first.reason }, 'voiceUrl failed');
    if (app.voiceFallbackUrl === undefined)
      return failure(`voiceUrl ${first.reason}; no voiceFallbackUrl`);
    const second = await this.fetchTwiml(
      app.voiceFallbackUrl,
      app.voiceFallbackMethod,
      params,
      authToken,
    );
    if (second.ok) return { ...second, source: 'voiceFallbackUrl' };
    this.log.warn(
      { url: describeUrl(app.voiceFallbackUrl), reason: second.reason },
      'voiceFallbackUrl failed',
    );
    return failure(`voiceUrl ${first.reason}; voiceFallbackUrl ${second.reason}`);
  }

  /**
   * A `<Dial action>` or `<Redirect>` URL. `url` may be relative; it is
   * resolved against `baseUrl` (the `url` of the document that held it).
   */
  async fetchUrl(
    url: string,
    method: HttpMethod,
    params: CallParameters,
    authToken: string,
    baseUrl?: string,
  ): Promise<InstructionsResult> {
    const absolute = resolveUrl(url, baseUrl);
    if (absolute === null) return failure(`${describeUrl(url)} is not a valid http(s) URL`);
    const result = await this.fetchTwiml(absolute, method, params, authToken);
    if (result.ok) return { ...result, source: 'url' };
    this.log.warn({ url: describeUrl(absolute), reason: result.reason }, 'instructions URL failed');
    return failure(`${describeUrl(absolute)} ${result.reason}`);
  }

  /**
   * Reports a progress event to the application's statusCallback, if it has
   * one. Never rejects and never blocks the call: the engine may ignore the
   * promise (it resolves once the request is over, for tests and shutdown).
   */
  statusCallback(
    app: StatusApplication,
    event: StatusEvent,
    params: CallParameters,
    authToken: string,
    details?: StatusDetails,
  ): Promise<void> {
    const url = app.statusCallback;
    if (url === undefined) return Promise.resolve();
    const body = statusCallbackParameters(params, event, details);
    return this.notify(url, app.statusCallbackMethod, body, authToken, 'statusCallback', { event, callSid: params.CallSid });
  }

  /**
   * A signed notification whose answer does not matter (status callbacks,
   * the presence callback): fire and forget, bounded by the status-callback
   * timeout; the promise never rejects and a failure is logged under `what`.
   */
  notify(url: string, method: HttpMethod, params: CallParameters, authToken: string, what: string, context: Record<string, unknown> = {}): Promise<void> {
    const done = sendWebhook(this.agent, { url, method, params, authToken, readBody: false }, this.statusLimits)
      .then((res: WebhookResponse) => {
        if (!res.ok) this.log.warn({ url: describeUrl(url), ...context, reason: res.reason }, `${what} failed`);
      })
      .catch((err: unknown) => {
        // sendWebhook returns its failures; this is a bug guard, so a rejection never goes unhandled.
        this.log.error({ url: describeUrl(url), ...context, err: String(err) }, `${what} crashed`);
      })
      .finally(() => this.pending.delete(done));
    this.pending.add(done);
    return done;
  }

  /** Waits for status callbacks in flight (each bounded by its timeout), then closes connections. Idempotent. */
  close(): Promise<void> {
    this.closing ??= Promise.all([...this.pending]).then(() => this.agent.close());
    return this.closing;
  }

  private async fetchTwiml(
    url: string,
    method: HttpMethod,
    params: CallParameters,
    authToken: string,
  ): Promise<
    | { ok: true; verbs: readonly Verb[]; url: string; warnings: readonly string[] }
    | { ok: false; reason: string }
  > {
    const res = await sendWebhook(
      this.agent,
      { url, method, params, authToken, readBody: true },
      this.limits,
    );
    if (!res.ok) return res;
    const twiml = this.twiml.parse(res.body);
    if (!twiml.ok)
      return { ok: false, reason: `returned invalid TwiML (${twiml.code}): ${twiml.error}` };
    if (twiml.warnings.length > 0)
      this.log.warn({ url: describeUrl(res.url), warnings: twiml.warnings }, 'TwiML warnings');
    return { ok: true, verbs: twiml.verbs, url: res.url, warnings: twiml.warnings };
  }
}

/** `url` resolved against `base` (a document's URL); null unless the result is http(s). */
export function resolveUrl(url: string, base?: string): string | null {
  try {
    const resolved = new URL(url, base);
    return resolved.protocol === 'http:' || resolved.protocol === 'https:' ? resolved.href : null;
  } catch {
    return null;
  }
}

function failure(reason: string): InstructionsResult {
  return { ok: false, reason: safeReason(reason) };
}

/** A reason fit for `Warning: 399 host "<reason>"`: printable, no quotes or backslashes, bounded. */
export function safeReason(reason: string): string {
  let printable = '';
  for (const ch of reason) {
    const code = ch.charCodeAt(0);
    printable += code < 0x20 || code === 0x7f || ch === '"' || ch === '\\' ? ' ' : ch;
  }
  const clean = printable.replace(/\s+/g, ' ').trim();
  return clean.length > MAX_REASON_CHARS ? `${clean.slice(0, MAX_REASON_CHARS - 3)}...` : clean;
}

/** A URL for reasons and logs: without query and credentials, which may hold secrets. */
function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return url.slice(0, 80);
  }
}
