// The checkpoint barrier of a batch job. Channels run concurrently; a checkpoint needs every channel
// stopped between pages, so that each channel's offset names exactly the rows its writer holds.
export class ChannelBarrier {
  private wanted = false;
  private arrived = 0;
  private active: number;
  private allArrived: (() => void) | undefined;
  private released: Promise<void> = Promise.resolve();
  private release: (() => void) | undefined;

  constructor(channels: number) {
    this.active = channels;
  }

  get requested(): boolean {
    return this.wanted;
  }

  /** Resolves once every channel still running waits at the barrier. */
  request(): Promise<void> {
    this.wanted = true;
    this.released = new Promise((resolve) => (this.release = resolve));
    const gathered = new Promise<void>((resolve) => (this.allArrived = resolve));
    this.check();
    return gathered;
  }

  /** A channel at a page boundary: waits here until the checkpoint is taken. */
  async arrive(): Promise<void> {
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

  private check(): void {
    if (this.wanted && this.arrived >= this.active) this.allArrived?.();
  }
}
