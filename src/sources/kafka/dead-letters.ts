// Messages that cannot become changes (not JSON, or lacking what their topic's format needs): each
// is appended as one JSON line to the dead-letter file with its topic, partition, offset and the
// reason, and the stream goes on. A line is written before the message's offset can be recorded,
// so none is lost; a crash before the next checkpoint replays the message and may write its line
// again (the topic-partition-offset tells the copies apart).
import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';

export interface DeadLetter {
  topic: string;
  partition: number;
  offset: string;
  reason: string;
  key: string | null;
  /** The message as it came: UTF-8 text when it is that, base64 otherwise. */
  value: string | null;
  valueEncoding?: 'base64';
}

export class DeadLetterFile {
  private ready: Promise<unknown> | undefined;

  constructor(readonly path: string) {}

  async write(letter: DeadLetter): Promise<void> {
    this.ready ??= mkdir(dirname(this.path), { recursive: true });
    await this.ready;
    await appendFile(this.path, `${JSON.stringify({ at: new Date().toISOString(), ...letter })}\n`);
  }
}

/** A message's bytes for a dead letter: text when they are valid UTF-8. */
export function letterValue(bytes: Buffer | null): Pick<DeadLetter, 'value' | 'valueEncoding'> {
  if (bytes === null) return { value: null };
  const text = bytes.toString('utf8');
  return Buffer.from(text, 'utf8').equals(bytes) ? { value: text } : { value: bytes.toString('base64'), valueEncoding: 'base64' };
}
