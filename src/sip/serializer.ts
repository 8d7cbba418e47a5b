/** Writes a message back to bytes (RFC 3261 §7). Headers are written as stored; see `setBody` for Content-Length. */
import type { SipMessage } from './message.js';

export function serializeHead(msg: SipMessage): string {
  let s =
    msg.type === 'request'
      ? `${msg.method} ${msg.uri} ${msg.version}\r\n`
      : `${msg.version} ${msg.status} ${msg.reason}\r\n`;
  for (const f of msg.headers.all()) s += `${f.name}: ${f.value}\r\n`;
  return s + '\r\n';
}

export function serialize(msg: SipMessage): Buffer {
  const head = serializeHead(msg);
  if (msg.body.length === 0) return Buffer.from(head, 'utf8');
  const headLength = Buffer.byteLength(head, 'utf8');
  const out = Buffer.allocUnsafe(headLength + msg.body.length);
  out.write(head, 0, 'utf8');
  msg.body.copy(out, headLength);
  return out;
}
