/**
 * `GET /v1/Accounts/{AC}/Calls[?status=…]` and `GET …/Calls/{CallSid}`
 * (CONTRACT §6): the records the call engine writes (src/store/call-record-store.ts),
 * newest first.
 */
import type { FastifyInstance } from 'fastify';
import { CALL_STATUSES, type CallRecord, type CallRecordStatus, type CallRecordStore } from '../store/call-record-store.js';
import { principalOf } from './basic-auth.js';
import { ApiError, badRequest } from './errors.js';

const CALL_SID = /^CA[0-9a-f]{32}$/;
const MAX_PAGE = 1000;

export function callsApi(app: FastifyInstance, records: CallRecordStore): void {
  app.get<{ Querystring: { status?: unknown; limit?: unknown } }>('/Calls', async (req): Promise<{ calls: CallRecord[] }> => {
    const { account } = principalOf(req);
    const status = req.query.status;
    if (status !== undefined && (typeof status !== 'string' || !(CALL_STATUSES as readonly string[]).includes(status))) {
      throw badRequest('status', `must be one of ${CALL_STATUSES.join(', ')}`);
    }
    const limitText = req.query.limit ?? '50';
    const limit = typeof limitText === 'string' && /^[0-9]{1,4}$/.test(limitText) ? Number(limitText) : NaN;
    if (!(limit >= 1 && limit <= MAX_PAGE)) throw badRequest('limit', `must be a whole number from 1 to ${MAX_PAGE}`);
    return { calls: await records.list(account.sid, { ...(status !== undefined ? { status: status as CallRecordStatus } : {}), limit }) };
  });

  app.get<{ Params: { callSid: string } }>('/Calls/:callSid', async (req): Promise<CallRecord> => {
    const { account } = principalOf(req);
    const sid = req.params.callSid;
    if (!CALL_SID.test(sid)) throw badRequest('callSid', 'must be "CA" followed by 32 lower-case hex digits');
    const record = await records.get(account.sid, sid);
    if (record === null) throw new ApiError(404, `no call ${sid} in account ${account.sid}`);
    return record;
  });
}
