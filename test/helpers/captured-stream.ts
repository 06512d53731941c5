// A stream that keeps what is written to it: stands in for a terminal or a log pipe in unit tests.
import { Writable } from 'node:stream';

export function capture(): { stream: NodeJS.WriteStream; text: () => string } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString();
      done();
    },
  }) as unknown as NodeJS.WriteStream;
  return { stream, text: () => text };
}
