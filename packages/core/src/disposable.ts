// The explicit-resource-management symbols, declared here so that Lockstep's published types
// (Tensor's `[Symbol.dispose]()`) type-check in projects whose `lib` stops at ES2022 and that have
// no @types/node: browser-only projects. The declaration is the one @types/node ships; it merges
// with TypeScript's own `lib.esnext.disposable` when a project has that.
declare global {
  interface SymbolConstructor {
    /** The method `using` calls at the end of a block. */
    readonly dispose: unique symbol;
    /** The method `await using` calls at the end of a block. */
    readonly asyncDispose: unique symbol;
  }
}

export {};
