/**
 * HTTP status of a failed Kubernetes API call, whatever shape the client threw (ApiException.code,
 * a watch error's statusCode, or a wrapped cause). The reconcile loop's error policy hangs on these:
 * NotFound = done, Conflict = requeue, AlreadyExists = adopt.
 */
export function httpStatus(err: unknown): number | undefined {
  for (let cur: unknown = err, depth = 0; cur && typeof cur === 'object' && depth < 4; depth++) {
    const e = cur as { code?: unknown; statusCode?: unknown; cause?: unknown };
    if (typeof e.code === 'number') return e.code;
    if (typeof e.statusCode === 'number') return e.statusCode;
    cur = e.cause;
  }
  return undefined;
}

export const isNotFound = (err: unknown): boolean => httpStatus(err) === 404;
export const isConflict = (err: unknown): boolean => httpStatus(err) === 409 && !isAlreadyExists(err);
export const isAlreadyExists = (err: unknown): boolean => {
  if (httpStatus(err) !== 409) return false;
  const body = (err as { body?: unknown }).body;
  const reason =
    typeof body === 'string' ? safeReason(body) : (body as { reason?: string } | undefined)?.reason;
  return reason === 'AlreadyExists';
};

/** The apiserver's Status reason of a failed call (Invalid, Forbidden, AlreadyExists...), if it sent one. */
export function apiReason(err: unknown): string | undefined {
  const body = (err as { body?: unknown } | undefined)?.body;
  if (typeof body === 'string') return safeReason(body);
  const reason = (body as { reason?: unknown } | undefined)?.reason;
  return typeof reason === 'string' && reason !== '' ? reason : undefined;
}

function safeReason(text: string): string | undefined {
  try {
    return (JSON.parse(text) as { reason?: string }).reason;
  } catch {
    return undefined;
  }
}

/** The apiserver's message for a failed call (what `kubectl` would print), else the error's own. */
export function apiMessage(err: unknown): string {
  const body = (err as { body?: unknown } | undefined)?.body;
  if (typeof body === 'string') {
    try {
      const msg = (JSON.parse(body) as { message?: string }).message;
      if (msg) return msg;
    } catch {
      return body.slice(0, 500);
    }
  }
  if (body && typeof body === 'object' && typeof (body as { message?: unknown }).message === 'string')
    return (body as { message: string }).message;
  return err instanceof Error ? err.message : String(err);
}
