// The checkpoint barrier of a batch job. Channels run concurrently; a checkpoint needs every channel
// stopped between pages, so that each channel's offset names exactly the rows its writer holds.
export class ChannelBarrier {
  private wanted = false;
  private arrived = 0;
  private active: number;
  private ended = false;
  private allArrived: (() => void) | undefined;
  private released: Promise<void> = Promise.resolve();
  private release: (() => void) | undefined;

  constructor(channels: number) {
    this.active = channels;
  }

  get requested(): boolean {
    return this.wanted;
  }

  /** Resolves once every channel still running waits at the barrier, or at once once the job has failed. */
  request(): Promise<void> {
    if (this.ended) return Promise.resolve();
    this.wanted = true;
    this.released = new Promise((resolve) => (this.release = resolve));
    const gathered = new Promise<void>((resolve) => (this.allArrived = resolve));
    this.check();
    return gathered;
  }

  /** A channel at a page boundary: waits here until the checkpoint is taken. */
  async arrive(): Promise<void> {
    if (this.ended) return;
    this.arrived++;
    const released = this.released;
    this.check();
    await released;
  }

  /** A channel that has finished (or failed) no longer holds a checkpoint up. */
  leave(): void {
    this.active--;
    this.check();
  }

  open(): void {
    this.wanted = false;
    this.arrived = 0;
    this.allArrived = undefined;
    this.release?.();
  }

  /**
   * A channel failed, so no checkpoint will be taken: a checkpoint already asked for must let its
   * caller go (to see the failure) rather than wait for channels that will never arrive, and every
   * channel waiting here goes on to stop.
   */
  end(): void {
    this.ended = true;
    this.allArrived?.();
    this.open();
  }

  private check(): void {
    if (this.wanted && this.arrived >= this.active) this.allArrived?.();
  }
}
