import { PassThrough, Readable } from 'node:stream'

/** docker-modem's demultiplexer, as far as logs use it. */
export interface LogDemuxer {
  demuxStream(stream: NodeJS.ReadableStream, stdout: NodeJS.WritableStream, stderr: NodeJS.WritableStream): void
}

/**
 * An engine's log answer (multiplexed stdout and stderr frames of a container or a service) as
 * one Web stream of text. A whole answer (a buffer, without `follow`) and a followed stream are
 * read alike. When the HTTP client leaves, the web stream is cancelled and the engine connection
 * is dropped too.
 */
export function demuxedLogs(modem: LogDemuxer, answer: NodeJS.ReadableStream | Buffer): ReadableStream<Uint8Array> {
  const source: NodeJS.ReadableStream = Buffer.isBuffer(answer) ? Readable.from([answer]) : answer
  const output = new PassThrough()
  modem.demuxStream(source, output, output)
  source.on('end', () => output.end())
  source.on('error', (err: Error) => output.destroy(err))
  output.on('close', () => (source as Readable).destroy?.())
  return Readable.toWeb(output) as ReadableStream<Uint8Array>
}
