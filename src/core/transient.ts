// Whether a failure may pass by itself, so that the same call a moment later, on a new connection or
// on the other server of a pair, may well succeed. The one place that decides it: every module that
// sets `retriable` on a SluiceError asks here about what the library or server threw, rather than
// keeping a list of its own. It reads the shapes those failures really have (below, by source), so
// nothing needs to be converted before asking.
import { SluiceError } from './errors.ts';

// Node sockets and DNS, node:http and undici: after these the request never got an answer.
const SOCKET_CODES = [
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  'ENOTFOUND', // DNS of a cluster that is being rebuilt; a wrong name fails every attempt and says so
  'UND_ERR_SOCKET',
  'ERR_STREAM_PREMATURE_CLOSE',
  'HPE_INVALID_CONSTANT',
];

const TRANSIENT_CODES = new Set([
  ...SOCKET_CODES,
  // mysql2 and mysql (zongji): the server closed the connection under a query.
  'PROTOCOL_CONNECTION_LOST',
  // MySQL answers about a passing state: another transaction's lock, a deadlock victim, a shutdown.
  'ER_LOCK_WAIT_TIMEOUT',
  'ER_LOCK_DEADLOCK',
  'ER_SERVER_SHUTDOWN',
]);
// The same three by number, for a client that knows the errno but has no name for it.
const TRANSIENT_MYSQL_ERRNOS = new Set([1205, 1213, 1053]);

// HDFS RemoteExceptions that describe a passing state of the cluster rather than a wrong request.
// WebHDFS maps every IOException to HTTP 403, so the status alone cannot tell them from a permission error.
const TRANSIENT_HDFS_EXCEPTIONS = new Set([
  'RetriableException', // the NameNode asks for exactly this (e.g. safe mode on an HA NameNode)
  'SafeModeException', // a NameNode that just started and waits for block reports
  'StandbyException', // every NameNode was standby: a failover is in progress
  'ObserverRetryOnActiveException',
  'AlreadyBeingCreatedException', // a lease of an earlier, dropped attempt that has not expired yet
  'RecoveryInProgressException',
  'NotReplicatedYetException',
  'LeaseExpiredException',
]);

// Messages of failures whose library dropped the code into the text (hive-driver, thrift), or that
// have no class or code of their own (HiveServer2's generic error codes, HDFS IOExceptions).
const TRANSIENT_MESSAGES = [
  new RegExp(`\\b(?:${SOCKET_CODES.join('|')})\\b`),
  /socket hang up|closed the connection|connection is in closed state/i,
  // HiveServer2: the metastore or HDFS unreachable for a moment, a lock.
  /Could not connect to meta ?store|MetaStoreClient lost connection|TTransportException|SocketTimeoutException|Connection refused/i,
  /StandbyException|SafeModeException|RetriableException|LockException|Lock wait timeout|Deadlock found/i,
  // HDFS: DataNodes (re)registering.
  /Failed to find datanode|could only be (?:written|replicated) to 0 of|no datanodes? (?:are|is) available/i,
];

interface FailureShape {
  /** Node errno code, mysql2 code (string); FTP reply code (number). */
  code?: unknown;
  /** mysql2: the server's error number. Node system errors carry a negative one. */
  errno?: unknown;
  message?: unknown;
  name?: unknown;
  /** An HTTP response or an exception that carries its status (thrift's THTTPException). */
  status?: unknown;
  statusCode?: unknown;
  /** An HDFS RemoteException as WebHDFS sends it: {exception, javaClassName, message}. */
  exception?: unknown;
  javaClassName?: unknown;
  /** A HiveServer2 TStatus: {errorCode, errorMessage, sqlState}. */
  errorCode?: unknown;
  errorMessage?: unknown;
  /** kafkajs: its own verdict, and what a KafkaJSNumberOfRetriesExceeded gave up on. */
  retriable?: unknown;
  cause?: unknown;
}

export function isTransient(error: unknown): boolean {
  if (error instanceof SluiceError) return error.retriable;
  if (typeof error !== 'object' || error === null) return false;
  const failure = error as FailureShape;
  // basic-ftp's FTPError: an answer of the server; 4xx is FTP's "try again later", 5xx is final.
  if (failure.name === 'FTPError' && typeof failure.code === 'number') return failure.code >= 400 && failure.code < 500;
  // kafkajs retries inside a call and then gives up non-retriably: what it gave up on decides (a
  // broker down is worth waiting for).
  if (typeof failure.name === 'string' && failure.name.startsWith('KafkaJS')) {
    if (failure.retriable === true) return true;
    if (failure.cause !== undefined && failure.cause !== error) return isTransient(failure.cause);
  }
  if (typeof failure.code === 'string' && TRANSIENT_CODES.has(failure.code)) return true;
  if (typeof failure.errno === 'number' && TRANSIENT_MYSQL_ERRNOS.has(failure.errno)) return true;
  const status = typeof failure.status === 'number' ? failure.status : failure.statusCode;
  if (typeof status === 'number' && (status >= 500 || status === 408 || status === 429)) return true;
  if (typeof failure.exception === 'string' && typeof failure.javaClassName === 'string' && TRANSIENT_HDFS_EXCEPTIONS.has(failure.exception)) return true;
  // Hive's ErrorMsg ranges: 30000-39999 are the runtime errors "Hive thinks may be transient". Others
  // carry a generic code (1, 40000, 08S01) whatever the cause, so their message has to tell.
  if (typeof failure.errorCode === 'number' && failure.errorCode >= 30000 && failure.errorCode < 40000) return true;
  const message = typeof failure.errorMessage === 'string' ? failure.errorMessage : typeof failure.message === 'string' ? failure.message : '';
  return TRANSIENT_MESSAGES.some((pattern) => pattern.test(message));
}
