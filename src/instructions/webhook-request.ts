/**
 * One signed webhook request, as Twilio makes them (CONTRACT §5.3): POST with
 * the parameters form-encoded, or GET with them appended to the query; signed
 * with `X-Twilio-Signature`. Failures are values with a short reason that ends
 * up in a SIP Warning, never exceptions.
 *
 * Limits, because the other end is someone else's server:
 *  - one deadline (`timeoutMs`) for the whole exchange: connect, redirects,
 *    headers and body; a separate, shorter connect timeout (undici's, whose
 *    timer has a resolution of about half a second);
 *  - at most `maxBodyBytes` of body are read; a longer answer is a failure;
 *  - redirects: 301, 302, 303, 307, 308 to http(s) are followed, at most
 *    `maxRedirects` times, as a browser follows them: 307/308 repeat the
 *    request (a POST with its form body), 301/302/303 after a POST become a GET
 *    of the new URL as given (without the parameters). Every hop is signed for
 *    the URL it goes to, so the application can validate it.
 * Credentials in the URL (`https://user:pass@host/…`, which Twilio supports)
 * become Basic auth and are not part of the signed URL: the application
 * rebuilds the URL from the request it sees, which carries no credentials.
 */
import type { Dispatcher } from 'undici';
import type { CallParameters } from './call-parameters.js';
import { SIGNATURE_HEADER, twilioSignature } from './signature.js';
import type { HttpMethod } from './twiml-types.js';

export interface WebhookLimits {
  readonly connectTimeoutMs: number;
  readonly timeoutMs: number;
  readonly maxBodyBytes: number;
  readonly maxRedirects: number;
  readonly userAgent: string;
}

export interface WebhookRequest {
  /** Absolute http(s) URL. */
  readonly url: string;
  readonly method: HttpMethod;
  readonly params: CallParameters;
  readonly authToken: string;
  /** false: the body is not wanted (status callbacks); it is drained, not kept. */
  readonly readBody: boolean;
}

export type WebhookResponse =
  | {
      readonly ok: true;
      readonly status: number;
      /** The URL that answered (after redirects), without the GET parameters and credentials. */
      readonly url: string;
      readonly body: string;
    }
  | { readonly ok: false; readonly reason: string };

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

export async function sendWebhook(
  dispatcher: Dispatcher,
  req: WebhookRequest,
  limits: WebhookLimits,
): Promise<WebhookResponse> {
  let target = httpUrl(req.url);
  if (target === null) return { ok: false, reason: 'is not an absolute http(s) URL' };
  let method = req.method;
  let withParams = true;
  const deadline = new AbortController();
  // Not unref'd: whoever awaits this must get an answer even if nothing else keeps the process busy.
  const timer = setTimeout(() => deadline.abort(), limits.timeoutMs);
  try {
    for (let hop = 0; ; hop++) {
      const prepared = prepare(
        target,
        method,
        withParams ? req.params : {},
        req.authToken,
        limits.userAgent,
      );
      // The dispatcher directly, with the URL already parsed: undici's `request(url)` would parse it again.
      const res = await dispatcher.request({
        origin: prepared.url.origin,
        path: prepared.url.pathname + prepared.url.search,
        method,
        headers: prepared.headers,
        body: prepared.body,
        signal: deadline.signal,
      });
      const location = headerValue(res.headers.location);
      if (REDIRECTS.has(res.statusCode) && location !== undefined) {
        await res.body.dump({ limit: limits.maxBodyBytes });
        if (hop >= limits.maxRedirects)
          return { ok: false, reason: `redirected more than ${limits.maxRedirects} times` };
        const next = httpUrl(location, target);
        if (next === null) return { ok: false, reason: `redirected to a URL that is not http(s)` };
        if (
          res.statusCode === 303 ||
          (res.statusCode !== 307 && res.statusCode !== 308 && method === 'POST')
        ) {
          method = 'GET';
          withParams = false;
        } else if (method === 'GET') {
          withParams = false; // the new URL is requested as given
        }
        target = next;
        continue;
      }
      if (res.statusCode < 200 || res.statusCode > 299) {
        await res.body.dump({ limit: limits.maxBodyBytes });
        return { ok: false, reason: `returned HTTP ${res.statusCode}` };
      }
      if (!req.readBody) {
        await res.body.dump({ limit: limits.maxBodyBytes });
        return { ok: true, status: res.statusCode, url: withoutCredentials(target), body: '' };
      }
      const body = await readLimited(res, limits.maxBodyBytes);
      if (body === null)
        return { ok: false, reason: `answered more than ${limits.maxBodyBytes} bytes` };
      return { ok: true, status: res.statusCode, url: withoutCredentials(target), body };
    }
  } catch (err) {
    return {
      ok: false,
      reason: deadline.signal.aborted
        ? `timed out after ${limits.timeoutMs} ms`
        : describeError(err, limits),
    };
  } finally {
    clearTimeout(timer);
  }
}

interface Prepared {
  url: URL;
  headers: Record<string, string>;
  body: string | undefined;
}

const SIGNATURE_HEADER_NAME = SIGNATURE_HEADER.toLowerCase();

/** application/x-www-form-urlencoded, exactly as URLSearchParams writes it. */
function formEncode(params: CallParameters): string {
  const form = new URLSearchParams();
  for (const name of Object.keys(params)) form.append(name, params[name] as string);
  return form.toString();
}

function prepare(
  target: URL,
  method: HttpMethod,
  params: CallParameters,
  authToken: string,
  userAgent: string,
): Prepared {
  const headers: Record<string, string> = { 'user-agent': userAgent, accept: '*/*' };
  const url = requestUrl(target, headers);
  const form = formEncode(params);
  if (method === 'GET') {
    const withQuery = new URL(url.href);
    // Appended, not merged through searchParams: the URL's own query stays byte for byte as configured.
    if (form !== '') withQuery.search = withQuery.search === '' ? `?${form}` : `${withQuery.search}&${form}`;
    headers[SIGNATURE_HEADER_NAME] = twilioSignature(authToken, withQuery.href);
    return { url: withQuery, headers, body: undefined };
  }
  headers['content-type'] = 'application/x-www-form-urlencoded';
  headers[SIGNATURE_HEADER_NAME] = twilioSignature(authToken, url.href, params);
  return { url, headers, body: form };
}

/**
 * The URL as requested and signed: without its fragment (never sent, so it
 * must not be signed) and without credentials, which become Basic auth in
 * `headers`. Most URLs have neither and are used as they are (never
 * changed: `target` may be the base of a redirect), with no copy parsed per request.
 */
function requestUrl(target: URL, headers: Record<string, string>): URL {
  if (!target.href.includes('#') && target.username === '' && target.password === '') return target;
  const url = new URL(target.href);
  url.hash = '';
  if (url.username !== '' || url.password !== '') {
    const user = decodeURIComponent(url.username);
    const password = decodeURIComponent(url.password);
    headers.authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    url.username = '';
    url.password = '';
  }
  return url;
}

/**
 * The body as UTF-8, or null when it is longer than `max` bytes (reading
 * stops there). Read through 'data' events rather than `for await`: the async
 * iterator costs several promises per chunk, on every call's webhook.
 */
function readLimited(res: Dispatcher.ResponseData, max: number): Promise<string | null> {
  const body = res.body;
  const declared = Number(headerValue(res.headers['content-length']) ?? NaN);
  if (declared > max) {
    body.destroy();
    return Promise.resolve(null);
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    body.on('data', (chunk: Buffer | Uint8Array) => {
      const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
      size += buf.length;
      if (size > max) {
        body.destroy();
        resolve(null);
        return;
      }
      chunks.push(buf);
    });
    body.once('end', () => resolve(Buffer.concat(chunks, size).toString('utf8')));
    // The deadline's abort lands here; sendWebhook turns it into its reason.
    body.once('error', reject);
  });
}

function httpUrl(text: string, base?: URL): URL | null {
  try {
    const url = new URL(text, base);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url : null;
  } catch {
    return null;
  }
}

function withoutCredentials(url: URL): string {
  if (url.username === '' && url.password === '') return url.href;
  const copy = new URL(url.href);
  copy.username = '';
  copy.password = '';
  return copy.href;
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function describeError(err: unknown, limits: WebhookLimits): string {
  const code =
    typeof err === 'object' && err !== null && 'code' in err
      ? String((err as { code: unknown }).code)
      : '';
  switch (code) {
    case 'UND_ERR_CONNECT_TIMEOUT':
      return `connect timed out after ${limits.connectTimeoutMs} ms`;
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
      return `timed out after ${limits.timeoutMs} ms`;
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'host not found';
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
      return 'connection closed before the response was complete';
    default: {
      const message = err instanceof Error ? err.message : String(err);
      return code !== '' ? `failed: ${code} ${message}` : `failed: ${message}`;
    }
  }
}
