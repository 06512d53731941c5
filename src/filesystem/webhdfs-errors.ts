// What a failed WebHDFS call means, in one place: the RemoteException a NameNode or DataNode sends as
// its JSON body, and the SluiceError a caller sees, naming the server URL, the operation, the path and
// the server's own message. Which failures are worth a retry or a failover, isTransient decides.
import { SluiceError } from '../core/errors.ts';
import { isTransient } from '../core/transient.ts';

/** The JSON body of a failed WebHDFS call: `{"RemoteException": {exception, javaClassName, message}}`. */
export interface RemoteException {
  exception: string;
  javaClassName: string;
  message: string;
}

export function parseRemoteException(body: string): RemoteException | undefined {
  try {
    const parsed = JSON.parse(body) as { RemoteException?: Partial<RemoteException> };
    const remote = parsed.RemoteException;
    if (!remote || typeof remote.exception !== 'string') return undefined;
    return {
      exception: remote.exception,
      javaClassName: typeof remote.javaClassName === 'string' ? remote.javaClassName : remote.exception,
      message: typeof remote.message === 'string' ? remote.message : '',
    };
  } catch {
    return undefined;
  }
}

/** A NameNode that is not the active one of an HA pair: try the next one. WebHDFS sends it as HTTP 403. */
export function isStandby(remote: RemoteException | undefined): boolean {
  return remote?.exception === 'StandbyException';
}

/** Hides a delegation token in a URL that goes into a message or a log line. */
export function redactUrl(url: string | URL): string {
  return String(url).replace(/([?&]delegation=)[^&]*/gi, '$1***');
}

/** The server's message without the Java stack trace that DataNodes append to it. */
export function firstLine(message: string): string {
  return message.split('\n', 1)[0]!.trim();
}

export interface WebHdfsFailure {
  op: string;
  path: string;
  /** The NameNode or DataNode URL of the request that failed (the token redacted on output). */
  url: string | URL;
  status?: number;
  remote?: RemoteException;
  /** A socket error or timeout, when no response arrived. */
  cause?: unknown;
  /** Overrides the classification (e.g. a length mismatch after an upload is retriable). */
  retriable?: boolean;
  detail?: string;
}

/** One SluiceError for every failed WebHDFS call. */
export function webHdfsError(failure: WebHdfsFailure): SluiceError {
  const url = redactUrl(failure.url);
  let reason: string;
  let retriable: boolean;
  if (failure.remote) {
    reason = `HTTP ${failure.status ?? '?'} ${failure.remote.exception}: ${firstLine(failure.remote.message)}`;
    retriable = isTransient({ ...failure.remote, status: failure.status });
  } else if (failure.status !== undefined) {
    reason = `HTTP ${failure.status}${failure.detail ? `: ${failure.detail}` : ''}`;
    retriable = isTransient({ status: failure.status });
  } else {
    const cause = failure.cause as NodeJS.ErrnoException | undefined;
    reason = failure.detail ?? `${cause?.code ? `${cause.code} ` : ''}${cause?.message ?? 'no response'}`;
    retriable = failure.cause === undefined || isTransient(failure.cause);
  }
  if (failure.retriable !== undefined) retriable = failure.retriable;
  return new SluiceError('SLUICE_FILESYSTEM', `WebHDFS ${failure.op} ${failure.path} failed at ${url}: ${reason}`, {
    retriable,
    cause: failure.cause,
    context: {
      file: failure.path,
      server: url,
      op: failure.op,
      ...(failure.status !== undefined ? { httpStatus: failure.status } : {}),
      ...(failure.remote ? { remoteException: failure.remote.exception } : {}),
    },
  });
}

/** The RemoteException class of a WebHDFS SluiceError, if the server sent one. */
export function remoteExceptionOf(error: unknown): string | undefined {
  const context = (error as SluiceError | undefined)?.context;
  return typeof context?.remoteException === 'string' ? context.remoteException : undefined;
}
