// Work on the tables a daemon writes (compaction, materialization) that a node-cron schedule only
// marks as due: the work itself runs inside the job's loop, between checkpoints, where no commit runs
// meanwhile.
//
// Only tables this run of the daemon has written to are worked on: a catalog such as Hive's metastore
// lists tables that other writers (another sluice, another tool) own, and their files are not ours.
// A table idle since the start waits for its next change.
import { createTask, type ScheduledTask } from 'node-cron';
import { routeKey, type Route } from '../routing/router.ts';

export abstract class ScheduledTableWork {
  private due = false;
  private task: ScheduledTask | undefined;
  /** The tables this run writes to; the router hands out one Route object per source table. */
  private readonly seenRoutes = new WeakSet<Route>();
  private readonly tables = new Map<string, Route>();

  constructor(
    private readonly schedule: string,
    private readonly name: string,
  ) {}

  /** Starts the schedule; each time it fires, the next checkpoint runs the work. */
  start(): void {
    this.task = createTask(this.schedule, () => void (this.due = true), {
      name: this.name,
      // Partitions are UTC days, so schedules are UTC too: the same config acts the same under any TZ.
      timezone: 'Etc/UTC',
      // The loop may be busy for a while; a missed tick only means the flag was already set.
      suppressMissedWarning: true,
    });
    void this.task.start();
  }

  stop(): void {
    void this.task?.destroy();
    this.task = undefined;
  }

  /** Called for every change written (so: cheap); its table becomes one that the work looks at. */
  noteTarget(route: Route): void {
    if (this.seenRoutes.has(route)) return;
    this.seenRoutes.add(route);
    this.tables.set(routeKey(route), route);
  }

  /** Marks a run as due now (the schedule does this; so can tests and operators). */
  requestRun(): void {
    this.due = true;
  }

  get isDue(): boolean {
    return this.due;
  }

  /** True once per time the run was marked due: the caller runs now. */
  protected takeDue(): boolean {
    const due = this.due;
    this.due = false;
    return due;
  }

  /** The tables written to, in name order. */
  protected writtenTables(): Route[] {
    return [...this.tables.values()].sort((a, b) => (routeKey(a) < routeKey(b) ? -1 : 1));
  }
}
