/**
 * Resource types of the gate. A call holds a `calls` slot (CONTRACT §5.2,
 * limit `limits.calls`); a REST request holds an `api:<Resource>` slot for
 * the REST resource it addresses (CONTRACT §6, limit `limits.api` per
 * resource type), e.g. `api:Presence`, `api:Clients`, `api:Tokens`.
 */
export const CALLS = 'calls';

const API_PREFIX = 'api:';

export function apiResourceType(resource: string): string {
  return API_PREFIX + resource;
}
