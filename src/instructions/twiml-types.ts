/**
 * The typed TwiML verbs the call engine executes (CONTRACT §5.4). Every
 * attribute Herald acts on is here, already defaulted and range-checked, so the
 * engine never reads XML; attributes Herald does not implement (`record`,
 * `ringTone`, …) are not carried.
 */

export type HttpMethod = 'GET' | 'POST';

/** `<Client>`: rings every registered device of `identity`. */
export interface ClientNoun {
  readonly kind: 'client';
  readonly identity: string;
  /** `<Parameter name value>` children of `<Client>`, passed on to the callee. */
  readonly params: Readonly<Record<string, string>>;
}

/** `<Sip>`: a SIP URI; a user of the account's sipDomain is rung like a client. */
export interface SipNoun {
  readonly kind: 'sip';
  /** As written, trimmed; the scheme is `sip:` or `sips:` (checked). */
  readonly uri: string;
  readonly username?: string;
  readonly password?: string;
}

/** `<Number>`, or plain text inside `<Dial>`. */
export interface NumberNoun {
  readonly kind: 'number';
  /** Digits with an optional leading `+`; spaces, dashes, dots and parentheses removed. */
  readonly number: string;
  /** DTMF to send once answered: digits, `*`, `#`, `w` (half a second pause). */
  readonly sendDigits?: string;
}

export type DialNoun = ClientNoun | SipNoun | NumberNoun;

export interface DialVerb {
  readonly verb: 'Dial';
  /** As written: absolute, or relative to the URL of the document holding it. */
  readonly action?: string;
  readonly method: HttpMethod;
  /** Seconds to ring before `no-answer`; 5..600, default 30 (as Twilio). */
  readonly timeout: number;
  readonly callerId?: string;
  readonly answerOnBridge: boolean;
  /** Maximum seconds of the bridged call; 1..86400, default 14400 (4 h, as Twilio). */
  readonly timeLimit: number;
  /** 1..10 nouns, rung at once. */
  readonly nouns: readonly DialNoun[];
}

export interface RejectVerb {
  readonly verb: 'Reject';
  /** `busy` → 486 Busy Here, `rejected` → 603 Decline (the engine maps them). */
  readonly reason: 'busy' | 'rejected';
}

export interface HangupVerb {
  readonly verb: 'Hangup';
}

export interface RedirectVerb {
  readonly verb: 'Redirect';
  /** As written: absolute, or relative to the URL of the document holding it. */
  readonly url: string;
  readonly method: HttpMethod;
}

export interface PauseVerb {
  readonly verb: 'Pause';
  /** Seconds; 1..3600, default 1. */
  readonly length: number;
}

export interface SayVerb {
  readonly verb: 'Say';
  /** Text content; SSML children are flattened to their text. May be empty. */
  readonly text: string;
  readonly voice?: string;
  readonly language?: string;
  /** Times to say it; 0 means "until the call ends" (Twilio: up to 1000). 0..1000, default 1. */
  readonly loop: number;
}

export interface PlayVerb {
  readonly verb: 'Play';
  /** Absolute or relative audio URL; empty when only `digits` is given. */
  readonly url: string;
  /** 0..1000, default 1; 0 as for Say. */
  readonly loop: number;
  /** DTMF to play instead of (or before) audio: digits, `*`, `#`, `w`. */
  readonly digits?: string;
}

export type Verb =
  DialVerb | RejectVerb | HangupVerb | RedirectVerb | PauseVerb | SayVerb | PlayVerb;

/**
 * Twilio's error codes for a document it cannot use: 12100 "Document parse
 * failure" (not well-formed XML), 12200 "Schema validation warning" (well-formed,
 * but not TwiML Herald can run).
 */
export type TwimlErrorCode = 12100 | 12200;

export type TwimlResult =
  | {
      readonly ok: true;
      /** In document order; empty means hang up. */
      readonly verbs: readonly Verb[];
      /** Attribute values replaced by their default or clamped into range (Twilio's 13xxx warnings). */
      readonly warnings: readonly string[];
    }
  | { readonly ok: false; readonly code: TwimlErrorCode; readonly error: string };
