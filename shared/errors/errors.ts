/**
 * The few typed errors the product raises on purpose. The HTTP error handler maps
 * each to a status; messages are written for the caller and never carry raw
 * identifiers, secrets or payloads.
 */
export class WactError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = new.target.name;
    this.status = status;
    this.code = code;
  }
}

export class BadRequestError extends WactError {
  constructor(message: string, code = 'bad_request') {
    super(400, code, message);
  }
}
export class UnauthorizedError extends WactError {
  constructor(message = 'authentication required', code = 'unauthorized') {
    super(401, code, message);
  }
}
export class ForbiddenError extends WactError {
  constructor(message = 'not allowed', code = 'forbidden') {
    super(403, code, message);
  }
}
export class NotFoundError extends WactError {
  constructor(message = 'not found', code = 'not_found') {
    super(404, code, message);
  }
}
export class ConflictError extends WactError {
  constructor(message: string, code = 'conflict') {
    super(409, code, message);
  }
}
export class TooManyRequestsError extends WactError {
  constructor(message = 'too many requests', code = 'rate_limited') {
    super(429, code, message);
  }
}

/** Configuration that must not be run: one line saying why. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/**
 * A cryptographic operation failed closed: wrong key, tampered or truncated
 * ciphertext, wrong context, unreadable key file. Never carries key material.
 */
export class CryptoError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'CryptoError';
    this.code = code;
  }
}

/**
 * A workspace's key-encryption key cannot be used right now: a customer-managed
 * KMS key was disabled, its grant revoked, deleted or is pending deletion. The
 * customer did this (or must fix it); it is not our fault and not a crash, so it
 * is a 503 with its own code, and the console shows a banner for it. Nothing is
 * lost: once the key is enabled again, everything decrypts as before.
 */
export class KeyUnavailableError extends WactError {
  /** The KMS error name (AccessDeniedException, DisabledException, …), for logs only. */
  readonly reason: string;
  constructor(
    reason: string,
    message = 'the customer-managed encryption key of this workspace is unavailable (disabled, revoked or deleted); its data cannot be read or written until the key is usable again',
  ) {
    super(503, 'customer_key_unavailable', message);
    this.reason = reason;
  }
}
