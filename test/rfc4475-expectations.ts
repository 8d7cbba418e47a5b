/**
 * What Herald must do with each of the 49 RFC 4475 torture messages
 * (test/fixtures/rfc4475/*.dat) when it arrives at the server.
 *
 * Herald's server implements OPTIONS, REGISTER (the registrar), PUBLISH and
 * SUBSCRIBE (presence), INVITE, BYE, UPDATE and INFO (calls, with ACK and
 * CANCEL), as a UAS. The server these run against has no trunks, so no
 * INVITE comes from a trunk. Checks run in this order, and the first one
 * that fails answers:
 *
 *   1. parse / framing          → 400 (513 when too large)
 *   2. validateRequest          → 505, 400, 416
 *   3. method                   → 405 (with Allow listing those) for a method Herald
 *                                 recognises but does not implement, 501 (with
 *                                 Allow) for one it does not recognise: RFC 3261
 *                                 §8.2.1, §21.5.2 and RFC 4475 §3.1.1.2, §3.1.1.5
 *   4. Require                  → 420 with Unsupported listing the tags
 *   5. OPTIONS                  → 200
 *      REGISTER                 → 404 for an AOR that is not sip:identity@host,
 *                                 401 (Bearer challenge) without credentials
 *      INVITE                   → 481 with a To tag (no such dialog, §12.2.2),
 *                                 401 (Bearer challenge) without credentials
 *                                 from an address that is no trunk (CONTRACT §5.1)
 *
 * Responses are never answered: with no client transaction to match they are
 * dropped (§18.1.2), and malformed ones are dropped before that.
 *
 * `expect` is the outcome when the message arrives in one datagram (the RFC
 * presents every message as a UDP datagram unless it says otherwise).
 * `overStream`, where given, is the list of statuses sent when the same bytes
 * arrive on a stream (TCP/TLS) connection, in order; [] means nothing is sent.
 *
 * Every entry was checked against what `parseMessage`, `StreamFramer` and
 * `validateRequest`/`validateResponse` actually return
 * (test/unit/sip/rfc4475.test.ts replays the order above on each file).
 */

export type Rfc4475File =
  | 'wsinv.dat'
  | 'intmeth.dat'
  | 'esc01.dat'
  | 'escnull.dat'
  | 'esc02.dat'
  | 'lwsdisp.dat'
  | 'longreq.dat'
  | 'dblreq.dat'
  | 'semiuri.dat'
  | 'transports.dat'
  | 'mpart01.dat'
  | 'unreason.dat'
  | 'noreason.dat'
  | 'badinv01.dat'
  | 'clerr.dat'
  | 'ncl.dat'
  | 'scalar02.dat'
  | 'scalarlg.dat'
  | 'quotbal.dat'
  | 'ltgtruri.dat'
  | 'lwsruri.dat'
  | 'lwsstart.dat'
  | 'trws.dat'
  | 'escruri.dat'
  | 'baddate.dat'
  | 'regbadct.dat'
  | 'badaspec.dat'
  | 'baddn.dat'
  | 'badvers.dat'
  | 'mismatch01.dat'
  | 'mismatch02.dat'
  | 'bigcode.dat'
  | 'badbranch.dat'
  | 'insuf.dat'
  | 'unkscm.dat'
  | 'novelsc.dat'
  | 'unksm2.dat'
  | 'bext01.dat'
  | 'invut.dat'
  | 'regaut01.dat'
  | 'multi01.dat'
  | 'mcl01.dat'
  | 'bcast.dat'
  | 'zeromf.dat'
  | 'cparam01.dat'
  | 'cparam02.dat'
  | 'regescrt.dat'
  | 'sdp01.dat'
  | 'inv2543.dat';

/** The check that decides the outcome (see the order above). */
export type Rfc4475Stage = 'parse' | 'validate' | 'method' | 'require' | 'options' | 'register' | 'invite' | 'response';

export interface Rfc4475Expectation {
  /** RFC 4475 section, e.g. "3.1.1.1". */
  readonly section: string;
  /** The section's title. */
  readonly title: string;
  readonly kind: 'request' | 'response';
  /** Whether RFC 4475 calls the message valid (well formed; §3.1.1, and the well-formed ones of §3.2–3.4). */
  readonly valid: boolean;
  /** Status Herald answers with when the message arrives in a datagram, or 'drop' (no answer). */
  readonly expect: number | 'drop';
  /** Statuses sent, in order, when the bytes arrive on a stream connection; only where that differs. */
  readonly overStream?: readonly number[];
  readonly stage: Rfc4475Stage;
  /** What the parse/validation failure reason (the 4xx/5xx reason phrase, or why a response is dropped) must match. */
  readonly reason?: RegExp;
  /** For 420: the option tags the Unsupported header must list, in order. */
  readonly unsupported?: readonly string[];
  /** Why, citing the RFC. */
  readonly why: string;
}

export const RFC4475_EXPECTATIONS: Readonly<Record<Rfc4475File, Rfc4475Expectation>> = {
  // --- §3.1.1 Valid messages ------------------------------------------------
  'wsinv.dat': {
    section: '3.1.1.1',
    title: 'A Short Tortuous INVITE',
    kind: 'request',
    valid: true,
    expect: 481,
    stage: 'invite',
    why: '"All elements should treat this as a well-formed request" (folding, LWS around colons, leading zeros in Max-Forwards and CSeq); it is an INVITE, which Herald recognises but does not implement: 405 (RFC 3261 §8.2.1).',
  },
  'intmeth.dat': {
    section: '3.1.1.2',
    title: 'Wide Range of Valid Characters',
    kind: 'request',
    valid: true,
    expect: 501,
    stage: 'method',
    why: 'Well formed; the method is an unknown extension-method ("A method of IN%56ITE is an unknown method"). "Endpoints will generate a 501 listing the methods they understand in an Allow header field" (RFC 3261 §21.5.2): 501 with Allow.',
  },
  'esc01.dat': {
    section: '3.1.1.3',
    title: 'Valid Use of the % Escaping Mechanism',
    kind: 'request',
    valid: true,
    expect: 401,
    stage: 'invite',
    why: '"A parser must accept this as a well-formed message"; an INVITE: 405.',
  },
  'escnull.dat': {
    section: '3.1.1.4',
    title: 'Escaped Nulls in URIs',
    kind: 'request',
    valid: true,
    expect: 401,
    stage: 'register',
    why: '"The message is well formed - parsers must accept this message"; a REGISTER without credentials: the registrar challenges it, 401 with WWW-Authenticate: Bearer (CONTRACT §4).',
  },
  'esc02.dat': {
    section: '3.1.1.5',
    title: 'Use of % When It Is Not an Escape',
    kind: 'request',
    valid: true,
    expect: 501,
    stage: 'method',
    why: '"The request method is unknown. It is NOT equivalent to REGISTER": Herald sees the method RE%47IST%45R. "An endpoint would reject this message with a 501": 501 with Allow.',
  },
  'lwsdisp.dat': {
    section: '3.1.1.6',
    title: 'Message with No LWS between Display Name and <',
    kind: 'request',
    valid: true,
    expect: 200,
    stage: 'options',
    why: '"Elements should accept this request as well formed" (a known RFC 3261 grammar bug); an OPTIONS: 200.',
  },
  'longreq.dat': {
    section: '3.1.1.7',
    title: 'Long Values in Header Fields',
    kind: 'request',
    valid: true,
    expect: 401,
    stage: 'invite',
    why: '"This well-formed request contains header fields with many values and values that are very long" (34 Vias); an INVITE: 405.',
  },
  'dblreq.dat': {
    section: '3.1.1.8',
    title: 'Extra Trailing Octets in a UDP Datagram',
    kind: 'request',
    valid: true,
    expect: 401,
    overStream: [401, 401],
    stage: 'register',
    why: 'In a datagram the octets after Content-Length "are just spurious noise that must be ignored" (RFC 3261 §18.3), so only the REGISTER is answered: 401, it has no credentials. On a stream the same bytes are two requests, REGISTER (401) and INVITE (401: no credentials, not from a trunk); the INVITE\'s body is 5 octets longer than its Content-Length, and those octets ("C\\r\\n\\r\\n") frame as a third "message" that has no Via and cannot be answered.',
  },
  'semiuri.dat': {
    section: '3.1.1.9',
    title: 'Semicolon-Separated Parameters in URI User Part',
    kind: 'request',
    valid: true,
    expect: 200,
    stage: 'options',
    why: '"Receiving elements will accept this as a well-formed message. The Request-URI will parse so that the user part is \'user;par=u@example.net\'"; an OPTIONS: 200.',
  },
  'transports.dat': {
    section: '3.1.1.10',
    title: 'Varied and Unknown Transport Types',
    kind: 'request',
    valid: true,
    expect: 200,
    stage: 'options',
    why: '"Parsers must accept this message as well formed"; an OPTIONS: 200.',
  },
  'mpart01.dat': {
    section: '3.1.1.11',
    title: 'Multipart MIME Message',
    kind: 'request',
    valid: true,
    expect: 405,
    stage: 'method',
    why: '"Parsers must accept this message as well formed" and "Receivers must take care to frame the received message properly" (binary body with NULs); a MESSAGE: 405.',
  },
  'unreason.dat': {
    section: '3.1.1.12',
    title: 'Unusual Reason Phrase',
    kind: 'response',
    valid: true,
    expect: 'drop',
    stage: 'response',
    why: '"This response is well formed. A parser must accept this message"; it answers no transaction of Herald\'s, so it is dropped (RFC 3261 §18.1.2).',
  },
  'noreason.dat': {
    section: '3.1.1.13',
    title: 'Empty Reason Phrase',
    kind: 'response',
    valid: true,
    expect: 'drop',
    stage: 'response',
    why: '"This well-formed response contains no reason phrase. A parser must accept this message"; it matches no client transaction: dropped.',
  },

  // --- §3.1.2 Invalid messages ----------------------------------------------
  'badinv01.dat': {
    section: '3.1.2.1',
    title: 'Extraneous Header Field Separators',
    kind: 'request',
    valid: false,
    expect: 400,
    stage: 'validate',
    reason: /Via/,
    why: '"This message is syntactically invalid. An element receiving this request should respond with a 400 Bad Request error" (empty Via and Contact parameters).',
  },
  'clerr.dat': {
    section: '3.1.2.2',
    title: 'Content Length Larger Than Message',
    kind: 'request',
    valid: false,
    expect: 400,
    overStream: [],
    stage: 'parse',
    reason: /Content-Length/,
    why: '"When sent over UDP ... the receiving element should respond with a 400 Bad Request error. If this message arrived over a stream-based transport ... there\'s not much the receiving party could do but wait for more data": on a stream nothing is sent.',
  },
  'ncl.dat': {
    section: '3.1.2.3',
    title: 'Negative Content-Length',
    kind: 'request',
    valid: false,
    expect: 400,
    stage: 'parse',
    reason: /Content-Length/,
    why: '"An element receiving this message should respond with an error ... If a request like this arrives over TCP, the framing error is not recoverable, and the connection should be closed" (the framer reports 400 and the flow closes).',
  },
  'scalar02.dat': {
    section: '3.1.2.4',
    title: 'Request Scalar Fields with Overlarge Values',
    kind: 'request',
    valid: false,
    expect: 400,
    stage: 'validate',
    reason: /CSeq/,
    why: '"An element receiving this request should respond with a 400 Bad Request due to the CSeq error" (sequence number > 2**32-1).',
  },
  'scalarlg.dat': {
    section: '3.1.2.5',
    title: 'Response Scalar Fields with Overlarge Values',
    kind: 'response',
    valid: false,
    expect: 'drop',
    stage: 'response',
    reason: /CSeq/,
    why: '"An element receiving this response will simply discard it" (validateResponse: malformed CSeq).',
  },
  'quotbal.dat': {
    section: '3.1.2.6',
    title: 'Unterminated Quoted String in Display Name',
    kind: 'request',
    valid: false,
    expect: 400,
    stage: 'validate',
    reason: /\bTo\b/,
    why: '"An element receiving this request should return a 400 Bad Request error" (unterminated quote in the To display name).',
  },
  'ltgtruri.dat': {
    section: '3.1.2.7',
    title: '<> Enclosing Request-URI',
    kind: 'request',
    valid: false,
    expect: 400,
    stage: 'parse',
    reason: /Request-URI enclosed in <>/,
    why: '"It is reasonable always to reject a request with this error with a 400 Bad Request".',
  },
  'lwsruri.dat': {
    section: '3.1.2.8',
    title: 'Malformed SIP Request-URI (embedded LWS)',
    kind: 'request',
    valid: false,
    expect: 400,
    stage: 'parse',
    reason: /whitespace inside Request-URI/,
    why: '"An element receiving this request should respond with a 400 Bad Request".',
  },
  'lwsstart.dat': {
    section: '3.1.2.9',
    title: 'Multiple SP Separating Request-Line Elements',
    kind: 'request',
    valid: false,
    expect: 400,
    stage: 'parse',
    reason: /more than one space/,
    why: '"It is acceptable to reject this request as malformed" (Herald is not liberal here: Request-Line = Method SP Request-URI SP SIP-Version, RFC 3261 §7.1).',
  },
  'trws.dat': {
    section: '3.1.2.10',
    title: 'SP Characters at End of Request-Line',
    kind: 'request',
    valid: false,
    expect: 400,
    stage: 'parse',
    reason: /trailing whitespace/,
    why: '"It is acceptable to reject this request as malformed"; Herald does.',
  },
  'escruri.dat': {
    section: '3.1.2.11',
    title: 'Escaped Headers in SIP Request-URI',
    kind: 'request',
    valid: false,
    expect: 400,
    stage: 'validate',
    reason: /Request-URI must not contain headers/,
    why: '"This INVITE is malformed, as the SIP Request-URI contains escaped headers. It is acceptable for an element to reject this request with a 400 Bad Request".',
  },
  'baddate.dat': {
    section: '3.1.2.12',
    title: 'Invalid Time Zone in Date Header Field',
    kind: 'request',
    valid: false,
    expect: 400,
    stage: 'validate',
    reason: /Date/,
    why: '"It is acceptable to reject this request as malformed"; Herald validates Date ("RFC 3261 explicitly defines the only acceptable time zone designation as \'GMT\'"), and validation comes before the method check.',
  },
  'regbadct.dat': {
    section: '3.1.2.13',
    title: 'Failure to Enclose name-addr URI in <>',
    kind: 'request',
    valid: false,
    expect: 400,
    stage: 'validate',
    reason: /Contact/,
    why: '"This REGISTER request is malformed ... It is reasonable for an element receiving this request to respond with a 400 Bad Request" (a URI with "?" must be in <>, RFC 3261 §20.10).',
  },
  'badaspec.dat': {
    section: '3.1.2.14',
    title: 'Spaces within addr-spec',
    kind: 'request',
    valid: false,
    expect: 400,
    stage: 'validate',
    reason: /\bTo\b/,
    why: '"It is reasonable to reject this request with a 400 Bad Request response" (spaces inside <> of the To).',
  },
  'baddn.dat': {
    section: '3.1.2.15',
    title: 'Non-token Characters in Display Name',
    kind: 'request',
    valid: false,
    expect: 400,
    overStream: [],
    stage: 'validate',
    reason: /From|To/,
    why: '"It is reasonable always to reject this kind of error with a 400 Bad Request response" (unquoted "Bell, Alexander"). The file has no blank line after its last header: a datagram ends there, but on a stream the header section never ends, so nothing is framed and nothing is sent.',
  },
  'badvers.dat': {
    section: '3.1.2.16',
    title: 'Unknown Protocol Version',
    kind: 'request',
    valid: false,
    expect: 505,
    stage: 'validate',
    reason: /Version/,
    why: '"The element should respond to the request with a 505 Version Not Supported error".',
  },
  'mismatch01.dat': {
    section: '3.1.2.17',
    title: 'Start Line and CSeq Method Mismatch',
    kind: 'request',
    valid: false,
    expect: 400,
    stage: 'validate',
    reason: /CSeq method/,
    why: '"Any element receiving this request will respond with a 400 Bad Request".',
  },
  'mismatch02.dat': {
    section: '3.1.2.18',
    title: 'Unknown Method with CSeq Method Mismatch',
    kind: 'request',
    valid: false,
    expect: 400,
    stage: 'validate',
    reason: /CSeq method/,
    why: '"Any element receiving this response should respond with a 501 Not Implemented. A 400 Bad Request is also acceptable": Herald validates before it looks at the method, so 400.',
  },
  'bigcode.dat': {
    section: '3.1.2.19',
    title: 'Overlarge Response Code',
    kind: 'response',
    valid: false,
    expect: 'drop',
    stage: 'response',
    reason: /status code/,
    why: '"This response has a response code larger than 699. An element receiving this response should simply drop it" (parse fails).',
  },

  // --- §3.2 Transaction layer semantics -------------------------------------
  'badbranch.dat': {
    section: '3.2.1',
    title: 'Missing Transaction Identifier',
    kind: 'request',
    valid: true,
    expect: 200,
    stage: 'options',
    why: '"A parser must not break when receiving this message. An element receiving this request could reject the request with a 400 Response ..., or it could fall back to the RFC 2543-style transaction identifier": Herald falls back (a branch of just "z9hG4bK" is treated as not RFC 3261-style), and answers the OPTIONS 200.',
  },

  // --- §3.3 Application layer semantics -------------------------------------
  'insuf.dat': {
    section: '3.3.1',
    title: 'Missing Required Header Fields',
    kind: 'request',
    valid: false,
    expect: 400,
    stage: 'validate',
    reason: /Missing (From|To|Call-ID)/,
    why: '"An element receiving this message must not break because of the missing information. Ideally, it will respond with a 400 Bad Request error".',
  },
  'unkscm.dat': {
    section: '3.3.2',
    title: 'Request-URI with Unknown Scheme',
    kind: 'request',
    valid: true,
    expect: 416,
    stage: 'validate',
    reason: /URI Scheme/,
    why: '"An element receiving this request will reject it with a 416 Unsupported URI Scheme response".',
  },
  'novelsc.dat': {
    section: '3.3.3',
    title: 'Request-URI with Known but Atypical Scheme',
    kind: 'request',
    valid: true,
    expect: 416,
    stage: 'validate',
    reason: /URI Scheme/,
    why: '"If an element will never accept this scheme as meaningful in a Request-URI, it is appropriate to treat it as unknown and return a 416"; Herald only takes sip/sips/tel.',
  },
  'unksm2.dat': {
    section: '3.3.4',
    title: 'Unknown URI Schemes in Header Fields',
    kind: 'request',
    valid: true,
    expect: 404,
    stage: 'register',
    why: 'Well formed: unknown schemes in To, From and Contact must not break the parser (absolute URIs are kept opaque). As a registrar Herald cannot take the AOR isbn:2983792873 (it registers sip:identity@host): 404.',
  },
  'bext01.dat': {
    section: '3.3.5',
    title: 'Proxy-Require and Require',
    kind: 'request',
    valid: true,
    expect: 420,
    stage: 'require',
    unsupported: ['nothingSupportsThis', 'nothingSupportsThisEither'],
    why: 'A 420 "containing an Unsupported header field listing these features from either the Require or Proxy-Require header field, depending on the role in which the element is responding": Herald answers as a UAS, which ignores Proxy-Require (RFC 3261 §20.29), so Unsupported lists both Require values.',
  },
  'invut.dat': {
    section: '3.3.6',
    title: 'Unknown Content-Type',
    kind: 'request',
    valid: true,
    expect: 401,
    stage: 'invite',
    why: '"An endpoint receiving this request would reject it with a 415 Unsupported Media Type error", but only an endpoint that takes INVITE looks at the body: Herald rejects the method first, 405.',
  },
  'regaut01.dat': {
    section: '3.3.7',
    title: 'Unknown Authorization Scheme',
    kind: 'request',
    valid: true,
    expect: 401,
    stage: 'register',
    why: '"An element receiving this request... should respond with a 401 Unauthorized" when it requires authentication it can do: the unknown scheme is ignored and the Bearer challenge sent (RFC 3261 §22.1, RFC 8898).',
  },
  'multi01.dat': {
    section: '3.3.8',
    title: 'Multiple Values in Single Value Required Fields',
    kind: 'request',
    valid: false,
    expect: 400,
    stage: 'validate',
    reason: /Multiple (From|To|Call-ID|CSeq)/,
    why: '"An element receiving this request would respond with a 400 Bad Request error" (two CSeq, Call-ID, To and From).',
  },
  'mcl01.dat': {
    section: '3.3.9',
    title: 'Multiple Content-Length Values',
    kind: 'request',
    valid: false,
    expect: 400,
    stage: 'parse',
    reason: /multiple Content-Length/i,
    why: '"An element receiving this message should respond with an error ... If a request like this arrives over TCP, the framing error is not recoverable, and the connection should be closed" (the framer reports 400 and the flow closes).',
  },
  'bcast.dat': {
    section: '3.3.10',
    title: '200 OK Response with Broadcast Via Header Field Value',
    kind: 'response',
    valid: true,
    expect: 'drop',
    stage: 'response',
    why: '"An endpoint receiving this message should simply discard it"; it also matches no client transaction of Herald\'s.',
  },
  'zeromf.dat': {
    section: '3.3.11',
    title: 'Max-Forwards of Zero',
    kind: 'request',
    valid: true,
    expect: 200,
    stage: 'options',
    why: '"An endpoint should process the request as if the Max-Forwards field value were still positive": Herald is the UAS for OPTIONS, so 200, not 483 (a proxy\'s answer).',
  },
  'cparam01.dat': {
    section: '3.3.12',
    title: 'REGISTER with a Contact Header Parameter',
    kind: 'request',
    valid: true,
    expect: 401,
    stage: 'register',
    why: 'Well formed ("unknownparam" is a contact-param, not a URI parameter); a REGISTER without credentials: 401 with the Bearer challenge.',
  },
  'cparam02.dat': {
    section: '3.3.13',
    title: 'REGISTER with a url-parameter',
    kind: 'request',
    valid: true,
    expect: 401,
    stage: 'register',
    why: 'Well formed ("unknownparam" is a URI parameter inside <>); a REGISTER without credentials: 401.',
  },
  'regescrt.dat': {
    section: '3.3.14',
    title: 'REGISTER with a URL Escaped Header',
    kind: 'request',
    valid: true,
    expect: 401,
    stage: 'register',
    why: 'Well formed: an escaped header in a Contact URI enclosed in <> (compare §3.1.2.13); a REGISTER without credentials: 401.',
  },
  'sdp01.dat': {
    section: '3.3.15',
    title: 'Unacceptable Accept Offering',
    kind: 'request',
    valid: true,
    expect: 401,
    stage: 'invite',
    why: '"The recipient of this request could respond with a 406 Not Acceptable" if it took the INVITE; Herald rejects the method first: 405.',
  },

  // --- §3.4 Backward compatibility ------------------------------------------
  'inv2543.dat': {
    section: '3.4.1',
    title: 'INVITE with RFC 2543 Syntax',
    kind: 'request',
    valid: true,
    expect: 401,
    overStream: [401],
    stage: 'invite',
    why: '"This is a legal message per RFC 2543 ... that should be accepted by RFC 3261 elements that want to maintain backwards compatibility" (no branch, no From tag, no Content-Length: the body is the rest of the datagram, no Max-Forwards); an INVITE: 405. On a stream a missing Content-Length means an empty body (RFC 3261 §18.3), so the INVITE is answered and the SDP lines that follow never end a header section.',
  },
};
