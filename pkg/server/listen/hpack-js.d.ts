/** Minimal types for the parts of hpack.js (RFC 7541, CommonJS, untyped) that berth uses. */
declare module 'hpack.js' {
  import type { Duplex } from 'node:stream';

  export interface HpackHeader {
    name: string;
    /** Octets as a latin1 string (one char per byte). */
    value: string;
    neverIndex?: boolean;
    /** Compressor only: false encodes as a literal without indexing. */
    incremental?: boolean;
    /** Compressor only: false disables Huffman coding of strings. */
    huffman?: boolean;
  }

  export interface TableOptions {
    table: { maxSize: number };
  }

  /** Header block fragments in, decoded headers out (object mode); call execute() after writing. */
  export interface Decompressor extends Duplex {
    execute(cb?: (err: Error | null) => void): void;
    updateTableSize(size: number): void;
  }

  /** Header lists in (one array per write), header block octets out. */
  export interface Compressor extends Duplex {
    updateTableSize(size: number): void;
  }

  const hpack: {
    decompressor: { create(options: TableOptions): Decompressor };
    compressor: { create(options: TableOptions): Compressor };
  };
  export default hpack;
}
