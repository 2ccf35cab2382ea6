// The one way modules of this package reach the state behind a public object.
//
// Each public class (Socket, RegisteredBuffer, CompletionQueue, RequestQueue, ...) keeps
// its working state in a plain internal object and binds the two here when it is made.
// A module that needs the state of an object it was handed asks `of()`, which also
// checks that the object really is one of ours (a look-alike, a subclass made without
// the constructor, or a stranger is refused with a TypeError). No symbols, no public
// statics, no `@internal` methods on public classes: the published types show nothing.

import { describe } from '../base/values.ts';

export class Internals<Public extends object, State> {
  readonly #states = new WeakMap<object, State>();
  /** What a public object of this kind is called in messages ('a Socket'). */
  readonly #what: string;

  constructor(what: string) {
    this.#what = what;
  }

  /** Called once by the public constructor. */
  bind(value: Public, state: State): void {
    this.#states.set(value, state);
  }

  /** The state behind `value`; TypeError naming `name` when it is not one of ours. */
  of(value: unknown, name: string): State {
    const state = typeof value === 'object' && value !== null ? this.#states.get(value) : undefined;
    if (state === undefined) throw new TypeError(`${name} must be ${this.#what}, got ${describe(value)}`);
    return state;
  }

  /** The state behind `value`, or undefined when it is not one of ours. */
  peek(value: unknown): State | undefined {
    return typeof value === 'object' && value !== null ? this.#states.get(value) : undefined;
  }

  /** Brand check: true for objects bound by the public constructor. */
  has(value: unknown): value is Public {
    return this.peek(value) !== undefined;
  }
}
