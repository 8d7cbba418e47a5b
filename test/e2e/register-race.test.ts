/**
 * REGISTERs of one client racing for its last device slots on two nodes
 * that share a real redis-server (issue 3: the registrar reads, then writes;
 * the write repeats the device cap atomically in the Redis script). Twelve
 * devices register at once, split over both nodes, with devicesPerClient 2:
 * exactly two get 200, the others 403, and two bindings exist.
 */
import { expect } from 'chai';
import { mintAccessToken } from '../../src/auth/access-token.js';
import { ACCOUNT, AS_ACCOUNT, KEY, SECRET, accountYaml } from '../helpers/test-account.js';
import { startHerald, writeConfig, type HeraldProcess } from '../helpers/herald-process.js';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';
import { request, UdpPeer } from '../helpers/sip-socket.js';

describe('REGISTERs racing for the device cap across two nodes', function () {
  this.timeout(60_000);
  let redis: RedisServer;
  let a: HeraldProcess;
  let b: HeraldProcess;
  const peers: UdpPeer[] = [];

  before(async () => {
    const config = writeConfig(accountYaml({ devicesPerClient: 2 }));
    redis = await startRedis();
    [a, b] = await Promise.all([
      startHerald({ config, env: { HERALD_REDIS_URL: redis.url, HERALD_NODE_ID: 'node-a' } }),
      startHerald({ config, env: { HERALD_REDIS_URL: redis.url, HERALD_NODE_ID: 'node-b' } }),
    ]);
  });
  after(async () => {
    for (const p of peers) p.close();
    await Promise.all([a?.stop(), b?.stop()]);
    await redis?.stop();
  });

  it('exactly devicesPerClient of 12 simultaneous REGISTERs get 200', async () => {
    const token = mintAccessToken({ accountSid: ACCOUNT, apiKeySid: KEY, apiKeySecret: SECRET, identity: 'kim', incoming: true, ttl: 3600 });
    for (let i = 0; i < 12; i++) peers.push(await UdpPeer.open());
    peers.forEach((peer, i) => {
      const msg = request('REGISTER', { transport: 'UDP', port: peer.port, uri: 'sip:herald.test', extra: [`Contact: <sip:kim-${i}@127.0.0.1:${peer.port}>`, 'Expires: 600', `Authorization: Bearer ${token}`] }).replace(
        'To: <sip:herald@127.0.0.1>',
        'To: <sip:kim@herald.test>',
      );
      peer.send(msg, (i % 2 === 0 ? a : b).listeners.udp!.port);
    });
    const statuses = await Promise.all(peers.map(async (p) => (await p.nextResponse(10_000))?.status));
    expect(statuses.filter((s) => s === 200), String(statuses)).to.have.length(2);
    expect(statuses.filter((s) => s === 403), String(statuses)).to.have.length(10);
    const presence = (await (await fetch(`http://127.0.0.1:${b.listeners.http!.port}/v1/Accounts/${ACCOUNT}/Clients/kim/Presence`, { headers: { authorization: AS_ACCOUNT } })).json()) as { devices: unknown[] };
    expect(presence.devices).to.have.length(2);
  });
});
