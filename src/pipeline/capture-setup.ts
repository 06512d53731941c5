// What is captured of each table (capture.tables and the routing rules' settings), wired the same way
// into every pairing of a source with the Hive sink: the transform the loop applies to each routed
// change, and the schema-change policy the sink asks for a table's changes.
import type { Logger } from 'pino';
import type { HiveChangelogSinkOptions } from '../sinks/hive-changelog-sink.ts';
import { CaptureTransform, type CaptureConfig, type CaptureSettings } from '../routing/capture/capture-transform.ts';
import type { Router, RoutingRule } from '../routing/router.ts';

export interface CaptureSetup {
  /** Undefined when no table has settings: the loop then hands every change on as it is. */
  transform: CaptureTransform | undefined;
  schemaPolicy: NonNullable<HiveChangelogSinkOptions['schemaPolicy']>;
}

export function setUpCapture(capture: CaptureConfig | undefined, rules: readonly (RoutingRule & CaptureSettings)[], router: Router, logger: Logger): CaptureSetup {
  const transform = new CaptureTransform(capture ?? { tables: [] }, rules, (message, context) => logger.warn(context, message));
  return {
    transform: transform.active ? transform : undefined,
    schemaPolicy: (event) => {
      const decision = router.decide(event.schema, event.table);
      return transform.schemaPolicy(event.schema, event.table, decision.kind === 'routed' ? decision.rule : undefined);
    },
  };
}
