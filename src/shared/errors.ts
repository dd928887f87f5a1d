/**
 * The one error type of Gatehouse. Services throw `AppError(code, detail)`; the error
 * middleware (src/http/errors.ts) is the only place that maps a code to an HTTP status,
 * so services never see HTTP. The response shape follows Ncloud's v2 API:
 * `{ "error": { "errorCode", "message", "detail", "fieldErrors": [{ "field", "message" }] } }`
 * (reference/ncloud-model.md §5).
 */

export interface FieldError {
  field: string;
  message: string;
}

/** Code table: HTTP status and the default, user-facing message of each code. */
export const ERROR_CODES = {
  BAD_REQUEST: { status: 400, message: 'The request is not valid.' },
  VALIDATION_FAILED: { status: 400, message: 'Some fields are not valid.' },
  MALFORMED_JSON: { status: 400, message: 'The request body is not valid JSON.' },
  UNAUTHENTICATED: { status: 401, message: 'Authentication is required.' },
  FORBIDDEN: { status: 403, message: 'You are not allowed to perform this action.' },
  NOT_FOUND: { status: 404, message: 'The requested resource was not found.' },
  METHOD_NOT_ALLOWED: { status: 405, message: 'This method is not allowed here.' },
  CONFLICT: { status: 409, message: 'The resource already exists or was changed concurrently.' },
  LIMIT_EXCEEDED: { status: 409, message: 'A limit was reached.' },
  PAYLOAD_TOO_LARGE: { status: 413, message: 'The request body is too large.' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'The request content type is not supported.' },
  RATE_LIMITED: { status: 429, message: 'Too many requests; try again later.' },
  INTERNAL: { status: 500, message: 'An internal error occurred.' },
  UNAVAILABLE: { status: 503, message: 'The service is temporarily unavailable.' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface AppErrorOptions {
  /** Replaces the code's default message (user-facing, no secrets). */
  message?: string;
  fieldErrors?: FieldError[];
  cause?: unknown;
}

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly detail: string | undefined;
  readonly fieldErrors: FieldError[];

  constructor(code: ErrorCode, detail?: string, options: AppErrorOptions = {}) {
    super(options.message ?? ERROR_CODES[code].message, { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.detail = detail;
    this.fieldErrors = options.fieldErrors ?? [];
  }

  get status(): number {
    return ERROR_CODES[this.code].status;
  }

  toBody(): ErrorBody {
    return {
      error: {
        errorCode: this.code,
        message: this.message,
        detail: this.detail ?? null,
        fieldErrors: this.fieldErrors,
      },
    };
  }
}

export interface ErrorBody {
  error: {
    errorCode: ErrorCode;
    message: string;
    detail: string | null;
    fieldErrors: FieldError[];
  };
}

/** `assertThat(cond, code, detail)`: guard clauses in services read as invariants. */
export function assertThat(condition: unknown, code: ErrorCode, detail?: string): asserts condition {
  if (!condition) throw new AppError(code, detail);
}

/**
 * True for MongoDB duplicate-key errors (E11000), whichever driver layer raised them. FerretDB v1
 * (the bundled engine) answers a unique-index violation caused by an update or findAndModify with
 * InternalError (code 1) quoting PostgreSQL's unique_violation, SQLSTATE 23505, instead of E11000.
 */
export function isDuplicateKeyError(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  if ('code' in err && (err as { code: unknown }).code === 11000) return true;
  const message = 'message' in err ? (err as { message: unknown }).message : undefined;
  return typeof message === 'string' && message.includes('(SQLSTATE 23505)');
}
