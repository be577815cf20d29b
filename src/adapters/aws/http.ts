// Deadlines of every AWS call. The SDK's default HTTP handler waits without limit for a connection and an
// answer; a Route 53 or STS endpoint that accepts and never answers would hold a run forever. Each
// attempt (the SDK retries) gets these; the retries are bounded by each client's maxAttempts.
export const AWS_REQUEST_DEADLINES = {
  /** To open the TCP (and TLS) connection. */
  connectionTimeout: 5_000,
  /** Without a byte of the answer once the request is sent. */
  requestTimeout: 30_000,
} as const;
