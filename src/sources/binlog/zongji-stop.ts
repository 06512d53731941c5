// Stops a zongji instance and waits for it to say so, but not forever: a stream stuck on a dead
// socket never emits 'stopped', and shutting down must not hang on it.
export interface StoppableZongji {
  once(event: 'stopped', listener: () => void): unknown;
  stop(): void;
}

const STOP_WAIT_MS = 2000;

export async function stopZongji(zongji: StoppableZongji): Promise<void> {
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, STOP_WAIT_MS);
    zongji.once('stopped', () => {
      clearTimeout(timer);
      resolve();
    });
    zongji.stop();
  });
}
