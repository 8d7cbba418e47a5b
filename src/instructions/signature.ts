/**
 * `X-Twilio-Signature` (CONTRACT §5.3), byte for byte as Twilio computes it, so
 * an application's `twilio.validateRequest` accepts Herald's requests:
 * HMAC-SHA1 keyed with the account's auth token over the full URL followed by
 * every POST parameter as name + value, names sorted by UTF-16 code units (JS
 * `sort()`, which is what Twilio's own helper uses). For GET the parameters are
 * in the URL's query already and `params` is empty.
 */
import { createHmac } from 'node:crypto';

export const SIGNATURE_HEADER = 'X-Twilio-Signature';

export function twilioSignature(
  authToken: string,
  url: string,
  params: Readonly<Record<string, string>> = {},
): string {
  let data = url;
  for (const name of Object.keys(params).sort()) data += name + params[name];
  return createHmac('sha1', authToken).update(data, 'utf8').digest('base64');
}
