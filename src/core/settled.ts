// The promise a per-row write returns when it finished before returning (the row went into a
// buffer): the caller may go on without an `await`, which costs a microtask turn and, in an async
// function, a promise of its own. Rows are written a million times a second; in the daemon's CPU
// profile those frames were a measurable share. Any other promise is awaited as usual.
export const SETTLED: Promise<void> = Promise.resolve();
