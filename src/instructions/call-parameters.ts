/**
 * The parameters Herald sends to an application, named as Twilio names them
 * (CONTRACT §5.3, §5.6) so that code written for Twilio reads them unchanged.
 */

/** Name → value, sent form-encoded (POST) or in the query (GET). */
export type CallParameters = Readonly<Record<string, string>>;

export const API_VERSION = '2010-04-01';

export type CallStatus =
  | 'queued'
  | 'initiated'
  | 'ringing'
  | 'in-progress'
  | 'completed'
  | 'busy'
  | 'failed'
  | 'no-answer'
  | 'canceled';

export type CallDirection = 'inbound' | 'outbound-api' | 'outbound-dial';

/** Who placed the call. */
export type CallerParty =
  /** A client (token or digest user): `From=client:<identity>`, plus the token's outgoing `params`. */
  | {
      readonly type: 'client';
      readonly identity: string;
      readonly params?: Readonly<Record<string, string>>;
    }
  /** A trunk or SIP caller: the number (E.164) or SIP URI, written as Twilio writes `From`. */
  | { readonly type: 'address'; readonly address: string };

export interface CallParameterInput {
  readonly callSid: string;
  readonly accountSid: string;
  readonly applicationSid: string;
  readonly caller: CallerParty;
  /** The called number, `client:<identity>` or SIP URI. */
  readonly to: string;
  /** Default `ringing` (the call is not answered while its instructions are fetched). */
  readonly callStatus?: CallStatus;
  /** Default `inbound`. */
  readonly direction?: CallDirection;
}

/**
 * The voiceUrl parameters. A token's custom params are sent too, but they
 * cannot override a standard one: an application must be able to trust
 * `AccountSid`, `CallSid` and `From`.
 */
export function callParameters(input: CallParameterInput): CallParameters {
  const from =
    input.caller.type === 'client' ? `client:${input.caller.identity}` : input.caller.address;
  const custom = input.caller.type === 'client' ? (input.caller.params ?? {}) : {};
  return withEntries(custom, {
    CallSid: input.callSid,
    AccountSid: input.accountSid,
    ApplicationSid: input.applicationSid,
    From: from,
    To: input.to,
    Caller: from,
    Called: input.to,
    CallStatus: input.callStatus ?? 'ringing',
    Direction: input.direction ?? 'inbound',
    ApiVersion: API_VERSION,
  });
}

export type DialCallStatus = 'completed' | 'busy' | 'no-answer' | 'failed' | 'canceled';

export interface DialOutcome {
  readonly status: DialCallStatus;
  /** The SID of the answered (or last attempted) child leg, when one was created. */
  readonly dialCallSid?: string;
  /** Seconds the bridged call lasted; omitted when no leg answered. */
  readonly durationSeconds?: number;
  /** The parent call's status now; Twilio sends `in-progress` once the caller was answered. */
  readonly callStatus?: CallStatus;
}

/** The `<Dial action>` parameters: the call's parameters plus the dial's outcome (CONTRACT §5.6). */
export function dialActionParameters(call: CallParameters, outcome: DialOutcome): CallParameters {
  return withEntries(call, {
    DialCallStatus: outcome.status,
    ...(outcome.dialCallSid !== undefined && { DialCallSid: outcome.dialCallSid }),
    ...(outcome.durationSeconds !== undefined && {
      DialCallDuration: String(Math.max(0, Math.round(outcome.durationSeconds))),
    }),
    ...(outcome.callStatus !== undefined && { CallStatus: outcome.callStatus }),
  });
}

/** The progress events of CONTRACT §5.6 (Twilio's `statusCallbackEvent` names). */
export type StatusEvent = 'initiated' | 'ringing' | 'answered' | 'completed';

export interface StatusDetails {
  /** Whole seconds since answer; sent with `completed` (0 when never answered). */
  readonly callDuration?: number;
  /** For `completed`: how the call ended, when not simply `completed` (`busy`, `no-answer`, `failed`, `canceled`). */
  readonly finalStatus?: CallStatus;
  /** Increasing per call, so an application can order callbacks that arrive out of order. */
  readonly sequenceNumber?: number;
  /** Default: now. */
  readonly timestamp?: Date;
}

const EVENT_STATUS: Readonly<Record<StatusEvent, CallStatus>> = {
  initiated: 'initiated',
  ringing: 'ringing',
  answered: 'in-progress',
  completed: 'completed',
};

/** The statusCallback parameters: the call's, with CallStatus for the event, CallDuration, Timestamp. */
export function statusCallbackParameters(
  call: CallParameters,
  event: StatusEvent,
  details: StatusDetails = {},
): CallParameters {
  const status = event === 'completed' ? (details.finalStatus ?? 'completed') : EVENT_STATUS[event];
  return withEntries(call, {
    CallStatus: status,
    CallbackSource: 'call-progress-events',
    Timestamp: rfc2822(details.timestamp ?? new Date()),
    ...(event === 'completed' && {
      CallDuration: String(Math.max(0, Math.round(details.callDuration ?? 0))),
    }),
    ...(details.sequenceNumber !== undefined && { SequenceNumber: String(details.sequenceNumber) }),
  });
}

/** Twilio's Timestamp format: `Mon, 16 Aug 2010 03:45:01 +0000`. */
function rfc2822(date: Date): string {
  return date.toUTCString().replace('GMT', '+0000');
}

/**
 * A fresh parameter object: `base` overridden by `over`. A custom parameter
 * named `__proto__` goes through defineProperty so it stays a parameter; the
 * others are plain assignments, which keep the object a fast one (defining
 * every key turned it into a dictionary, slower for everything that reads it).
 */
function withEntries(
  base: Readonly<Record<string, string>>,
  over: Readonly<Record<string, string>>,
): CallParameters {
  const out: Record<string, string> = {};
  for (const source of [base, over]) {
    for (const name of Object.keys(source)) {
      const value = source[name] as string;
      if (name === '__proto__') {
        Object.defineProperty(out, name, { value, enumerable: true, writable: true, configurable: true });
      } else out[name] = value;
    }
  }
  return out;
}
