/**
 * One lazily instantiated WebAssembly module per thread, from its embedded base64 bytes: the exports, or
 * null where the engine cannot validate the module (e.g. no SIMD), so callers fall back to JavaScript.
 */
export function lazyWasmExports<T>(base64: string): () => T | null {
  let exports: T | null | undefined;
  return () => {
    if (exports === undefined) {
      const bytes = Buffer.from(base64, 'base64');
      exports = WebAssembly.validate(bytes)
        ? (new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports as unknown as T)
        : null;
    }
    return exports;
  };
}
