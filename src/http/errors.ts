/**
 * REST errors (CONTRACT §6): every error answer is `{code, message, status}`.
 * Routes throw an `ApiError`; the app's error handler turns it (and fastify's
 * own errors: bad JSON, body too large…) into that shape.
 */

export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
    /** The JSON `code`; 20000 + status unless a more specific one applies (20003: authenticate). */
    readonly errorCode: number = 20000 + statusCode,
    /** Extra response headers (WWW-Authenticate, Retry-After…). */
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface ErrorBody {
  code: number;
  message: string;
  status: number;
}

export function errorBody(
  status: number,
  message: string,
  code: number = 20000 + status,
): ErrorBody {
  return { code, message, status };
}

/** A 400 whose message names the field at fault. */
export function badRequest(field: string, problem: string): ApiError {
  return new ApiError(400, `${field}: ${problem}`);
}
