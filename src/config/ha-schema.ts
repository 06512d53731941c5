// `ha:`, the standby (docs/ha.md): daemons on several hosts with the same config elect one active
// daemon in ZooKeeper; the others stand by and take over when its session ends. Its state must be
// where every host reads it, so ha.zookeeper requires checkpoint.store: hdfs (checked across keys in
// schema.ts).
import { z } from 'zod';

const hostPort = /^[^\s,:/]+:\d{1,5}$/;

export const haSettings = z
  .strictObject({
    zookeeper: z
      .strictObject({
        // The ensemble, as every ZooKeeper client takes it: 'zk1:2181,zk2:2181,zk3:2181'.
        connect: z
          .string()
          .min(1)
          .refine((text) => text.split(',').every((part) => hostPort.test(part.trim())), {
            error: "expected host:port[,host:port...] such as 'zk1:2181,zk2:2181,zk3:2181'",
          }),
        // One path per job: the election and the epoch live under it.
        path: z.string().regex(/^(\/[^/\s]+)+$/, { error: "expected an absolute ZooKeeper path without a trailing '/', such as '/sluice/shop'" }),
        // How long after the active daemon's last sign of life a standby takes over; ZooKeeper
        // clamps it to [2, 20] ticks of its own (tickTime 2000 ms by default: 4-40 s).
        sessionTimeoutMs: z.int().min(1000).max(120_000).default(10_000),
      })
      .optional(),
  })
  .prefault({});

export type HaSettings = z.output<typeof haSettings>;
export type ZooKeeperSettings = NonNullable<HaSettings['zookeeper']>;
