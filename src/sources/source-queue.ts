// The bounded hand-over between a source's network callbacks (zongji's binlog events, kafkajs's
// messages) and the pipeline. Nothing is held beyond `limit` items: when the pipeline falls behind,
// the socket (or the consumer) is paused, so the server's TCP window does the waiting.

export interface PausableSocket {
  pause(): void;
  resume(): void;
}

export class SourceQueue<T> {
  private readonly items: T[] = [];
  private head = 0;
  private waiter: (() => void) | undefined;
  private roomWaiter: (() => void) | undefined;
  private failure: Error | undefined;
  private paused = false;
  /** Column lookups under way; the socket stays paused for them whatever the queue says. */
  private lookups = 0;

  /** `socket` is the replication socket of the moment (none before the dump starts or after it stops). */
  constructor(
    private readonly limit: number,
    private readonly socket: () => PausableSocket | null | undefined,
  ) {}

  get length(): number {
    return this.items.length - this.head;
  }

  get failed(): boolean {
    return this.failure !== undefined;
  }

  push(item: T): void {
    // Nothing after a failure is handed on: zongji reads on past an event it reports and cannot
    // decode, and a boundary after that event would let a checkpoint step over it.
    if (this.failure) return;
    this.items.push(item);
    this.pauseIfFull();
    this.wake();
  }

  /** The next item, in order. Rejects once the queue has failed and is drained. */
  async next(): Promise<T> {
    for (;;) {
      const item = this.poll();
      if (item !== undefined) return item;
      if (this.failure) throw this.failure;
      await new Promise<void>((resolve) => (this.waiter = resolve));
    }
  }

  /** The next item if one is queued, without waiting (and without a promise per item). */
  poll(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head]!;
    this.items[this.head] = undefined as unknown as T;
    this.head++;
    if (this.head > 4096 && this.head * 2 > this.items.length) {
      this.items.splice(0, this.head);
      this.head = 0;
    }
    this.maybeResume();
    return item;
  }

  /**
   * Resolves once the pipeline has taken the queue down to half its limit (or it failed): back-pressure
   * for a source that can simply wait before handing on more, instead of pausing a socket.
   */
  room(): Promise<void> {
    if (this.length <= this.limit / 2 || this.failure) return Promise.resolve();
    return new Promise((resolve) => (this.roomWaiter = resolve));
  }

  /** The first failure wins; the consumer meets it after the items before it. */
  fail(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    this.wake();
    this.wakeRoomWaiter();
  }

  /** zongji has paused the socket to look a table's columns up: it stays paused until `lookupEnded`. */
  lookupStarted(): void {
    this.lookups++;
  }

  /**
   * zongji resumes the socket in `resume`, and the events held meanwhile are pushed from there: the
   * queue's own pause must be able to stop them again. Without `resume` (the lookup failed) the
   * socket stays as it is.
   */
  lookupEnded(resume?: () => void): void {
    this.lookups--;
    if (!resume) return;
    this.paused = false;
    resume();
    this.pauseIfFull();
  }

  private pauseIfFull(): void {
    const socket = this.socket();
    if (!this.paused && this.length >= this.limit && socket) {
      this.paused = true;
      socket.pause();
    }
  }

  private maybeResume(): void {
    if (this.roomWaiter && this.length <= this.limit / 2) this.wakeRoomWaiter();
    if (this.paused && this.lookups === 0 && this.length <= this.limit / 2) {
      this.paused = false;
      this.socket()?.resume();
    }
  }

  private wakeRoomWaiter(): void {
    const waiter = this.roomWaiter;
    this.roomWaiter = undefined;
    waiter?.();
  }

  private wake(): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.();
  }
}
