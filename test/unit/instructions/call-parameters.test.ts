/** The parameters of CONTRACT §5.3 and §5.6, named and valued as Twilio sends them. */
import { expect } from 'chai';
import {
  callParameters,
  dialActionParameters,
  statusCallbackParameters,
} from '../../../src/instructions/call-parameters.js';

const BASE = {
  callSid: 'CA0123456789abcdef0123456789abcdef',
  accountSid: 'AC0123456789abcdef0123456789abcdef',
  applicationSid: 'AP0123456789abcdef0123456789abcdef',
};

describe('call parameters', () => {
  it('a trunk caller: From/Caller and To/Called, ringing, inbound, ApiVersion', () => {
    expect(
      callParameters({
        ...BASE,
        caller: { type: 'address', address: '+15557654321' },
        to: '+15550001111',
      }),
    ).to.deep.equal({
      CallSid: BASE.callSid,
      AccountSid: BASE.accountSid,
      ApplicationSid: BASE.applicationSid,
      From: '+15557654321',
      To: '+15550001111',
      Caller: '+15557654321',
      Called: '+15550001111',
      CallStatus: 'ringing',
      Direction: 'inbound',
      ApiVersion: '2010-04-01',
    });
  });

  it('a client caller: From=client:<identity> plus the token params, which cannot override standard ones', () => {
    const p = callParameters({
      ...BASE,
      caller: {
        type: 'client',
        identity: 'alice',
        params: { ticket: '42', AccountSid: 'ACspoofed', From: 'client:mallory' },
      },
      to: 'bob',
    });
    expect(p).to.include({
      From: 'client:alice',
      Caller: 'client:alice',
      To: 'bob',
      Called: 'bob',
      ticket: '42',
      AccountSid: BASE.accountSid,
    });
  });

  it('a custom parameter named __proto__ stays a parameter', () => {
    const p = callParameters({
      ...BASE,
      caller: {
        type: 'client',
        identity: 'a',
        params: JSON.parse('{"__proto__":"x"}') as Record<string, string>,
      },
      to: 'b',
    });
    expect(Object.keys(p)).to.include('__proto__');
    expect(Object.getPrototypeOf(p)).to.equal(Object.prototype);
  });

  it('the Dial action adds DialCallStatus, DialCallSid, DialCallDuration', () => {
    const call = callParameters({
      ...BASE,
      caller: { type: 'address', address: '+1555' },
      to: '+1666',
    });
    const p = dialActionParameters(call, {
      status: 'completed',
      dialCallSid: 'CAchild',
      durationSeconds: 12.4,
      callStatus: 'in-progress',
    });
    expect(p).to.include({
      DialCallStatus: 'completed',
      DialCallSid: 'CAchild',
      DialCallDuration: '12',
      CallStatus: 'in-progress',
      CallSid: BASE.callSid,
    });
    const noAnswer = dialActionParameters(call, { status: 'no-answer' });
    expect(noAnswer).to.include({ DialCallStatus: 'no-answer', CallStatus: 'ringing' });
    expect(noAnswer).not.to.have.property('DialCallDuration');
    expect(call).not.to.have.property('DialCallStatus'); // the call's own parameters are not changed
  });

  it('status callbacks: CallStatus per event, CallDuration on completed, Timestamp as Twilio writes it', () => {
    const call = callParameters({
      ...BASE,
      caller: { type: 'address', address: '+1555' },
      to: '+1666',
    });
    const at = new Date(Date.UTC(2010, 7, 16, 3, 45, 1));
    expect(statusCallbackParameters(call, 'initiated', { timestamp: at })).to.include({
      CallStatus: 'initiated',
      Timestamp: 'Mon, 16 Aug 2010 03:45:01 +0000',
    });
    expect(statusCallbackParameters(call, 'ringing')).to.include({ CallStatus: 'ringing' });
    expect(statusCallbackParameters(call, 'answered'))
      .to.include({ CallStatus: 'in-progress' })
      .and.not.have.property('CallDuration');
    expect(
      statusCallbackParameters(call, 'completed', { callDuration: 61, sequenceNumber: 3 }),
    ).to.include({
      CallStatus: 'completed',
      CallDuration: '61',
      SequenceNumber: '3',
      CallbackSource: 'call-progress-events',
    });
    expect(statusCallbackParameters(call, 'completed', { finalStatus: 'busy' })).to.include({
      CallStatus: 'busy',
      CallDuration: '0',
    });
  });
});
