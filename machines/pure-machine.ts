/**
 * The type every machine in machines/ has, written out.
 *
 * JSR needs an explicit type on every exported const, and the type `setup()`
 * infers for a machine is long. All five machines are alike in most of it:
 * no child actors, no delays, no tags, no output, no emitted events, no meta.
 * {@link PureMachine} fixes those parts and takes the rest, by name, in the
 * form `setup()` itself uses. Each machine file annotates its machine with
 * it, so tsc checks the written type against the definition.
 *
 * @module
 */
import type {
  EventObject,
  MachineContext,
  MetaObject,
  NonReducibleUnknown,
  ParameterizedObject,
  StateMachine,
  StateSchema,
  StateValue,
} from "xstate";

/** Names of actions or guards mapped to their params, as `setup({ actions, guards })` takes them (`unknown`: none). */
export type Implementations = Record<string, ParameterizedObject["params"] | undefined>;

/** The parts in which the machines differ. */
export interface MachineTypes {
  readonly context: MachineContext;
  readonly events: EventObject;
  readonly input: unknown;
  readonly actions: Implementations;
  readonly guards: Implementations;
  /** The state value: a union of leaf names, with `{ parent: child }` for compound states. */
  readonly value: StateValue;
  /** The states as XState records them: `{ id, states: { name: { states?: … } } }`. */
  readonly schema: StateSchema;
}

/**
 * XState's own `ToParameterizedObject` (computed by `setup()`, not exported
 * by xstate): a record of names to params as a union of `{ type, params }`.
 */
export type Parameterized<T extends Implementations> = {
  [K in keyof T & string]: { type: K; params: T[K] };
}[keyof T & string];

/** States with no child states, in a {@link MachineTypes.schema}. */
// deno-lint-ignore ban-types
export type Leaves<TNames extends string> = { readonly [K in TNames]: {} };

/**
 * A pure machine of this package: what `setup({ types, actions, guards }).createMachine(...)`
 * gives for a machine with no actors, delays, tags, output, emitted events or meta.
 */
export type PureMachine<T extends MachineTypes> = StateMachine<
  T["context"],
  T["events"],
  // deno-lint-ignore ban-types
  {}, // children: no actors
  never, // actors
  Parameterized<T["actions"]>,
  Parameterized<T["guards"]>,
  never, // delays
  T["value"],
  string, // tags
  T["input"],
  NonReducibleUnknown, // output
  EventObject, // emitted
  MetaObject, // state meta
  T["schema"],
  MetaObject // transition meta
>;
