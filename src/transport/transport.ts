/**
 * The contract every byte pipe meets: a readable and a writable stream of
 * bytes, and whether chunks are an ordered stream or datagrams. Nothing in
 * `src/transport/` knows what runs over it.
 *
 * @module
 */

/** A byte pipe: what every qgate session runs over. `Deno.Conn` fits, as do WebSocket streams. */
export interface Transport {
  /**
   * Bytes from the peer. A chunk belongs to the session once read (records
   * are opened from it without a copy): a transport must not reuse or change
   * a chunk after handing it over, as `Deno.Conn`, WebSocket and UDP never do.
   */
  readonly readable: ReadableStream<Uint8Array>;
  /** Bytes to the peer. The session never changes a chunk after writing it. */
  readonly writable: WritableStream<Uint8Array>;
  /**
   * `"datagram"` when each chunk is one datagram that may be lost, duplicated
   * or reordered (UDP); absent or `"stream"` for an ordered byte stream.
   */
  readonly kind?: "stream" | "datagram";
}
