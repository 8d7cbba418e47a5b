/**
 * The worker's unknown-SSRC warnings, read (src/media/ssrc-latch.ts): with
 * Herald's worker patch a line names its transport and reaches only that
 * transport's legs; a line from a stock worker names none and reaches every
 * waiting leg (the fallback). Other warnings are not reports.
 */
import { expect } from 'chai';
import { UnknownSsrcReports, type UnknownSsrc } from '../../../src/media/ssrc-latch.js';

const line = (transport?: string) =>
  `[pid:4242] RTC::Transport::ReceiveRtpPacket() | no suitable Producer for received RTP packet [ssrc:305419896, payloadType:8${transport === undefined ? '' : `, transportId:${transport}`}]`;

describe('unknown-SSRC reports', () => {
  it('a line that names its transport reaches that transport\'s listeners only', () => {
    const reports = new UnknownSsrcReports();
    const a: UnknownSsrc[] = [];
    const b: UnknownSsrc[] = [];
    reports.watch('t-a', (r) => a.push(r));
    reports.watch('t-b', (r) => b.push(r));
    expect(reports.take(line('t-a'))).to.equal(true);
    expect(a).to.deep.equal([{ pid: 4242, ssrc: 305419896, payloadType: 8, transportId: 't-a' }]);
    expect(b).to.deep.equal([]);
  });

  it('a line from a worker without the patch reaches every listener', () => {
    const reports = new UnknownSsrcReports();
    const got: string[] = [];
    reports.watch('t-a', () => got.push('a'));
    reports.watch('t-b', () => got.push('b'));
    expect(reports.take(line())).to.equal(true);
    expect(got.sort()).to.deep.equal(['a', 'b']);
  });

  it('stops calling a listener once it stops watching; other warnings are not reports', () => {
    const reports = new UnknownSsrcReports();
    let calls = 0;
    const stop = reports.watch('t-a', () => calls++);
    stop();
    expect(reports.take(line('t-a'))).to.equal(true);
    expect(calls).to.equal(0);
    expect(reports.take('[pid:4242] RTC::Transport::Connect() | some other warning')).to.equal(false);
  });
});
