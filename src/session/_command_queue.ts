/**
 * The order in which a driver carries out its statechart's commands: one
 * after another, in emission order; a command that returns a promise holds
 * the ones after it until it settles. A command that fails (throws or
 * rejects) drops everything queued after it and is reported once: the
 * statechart decides what follows.
 *
 * @module
 */

/** What a {@linkcode CommandQueue} calls. */
export interface CommandQueueHooks<Command> {
  /** Carries out one command; a promise holds the queue until it settles. */
  execute(command: Command): void | Promise<void>;
  /** A command failed; the queue is already empty. */
  failed(command: Command, error: unknown): void;
  /** Whether the driver has finished: nothing runs any more. */
  stopped(): boolean;
  /** The queue ran dry (every command carried out). */
  idle?(): void;
}

/** Runs commands one at a time, in order. */
export class CommandQueue<Command> {
  readonly #hooks: CommandQueueHooks<Command>;
  readonly #queue: Command[] = [];
  #running = false;
  #pending: Promise<void> | undefined;

  /** @param hooks What to call. */
  constructor(hooks: CommandQueueHooks<Command>) {
    this.#hooks = hooks;
  }

  /** Whether a command is being carried out (or waited for). */
  get running(): boolean {
    return this.#running;
  }

  /** Whether commands are running or waiting. */
  get busy(): boolean {
    return this.#running || this.#queue.length > 0;
  }

  /** Settles once the command being waited for has settled (`undefined` if none). */
  get pending(): Promise<void> | undefined {
    return this.#pending;
  }

  /** Queues a command; runs it at once if nothing else is running. */
  push(command: Command): void {
    this.#queue.push(command);
    if (!this.#running) this.#run();
  }

  /** Drops every queued command (the one being waited for still settles). */
  clear(): void {
    this.#queue.length = 0;
  }

  #run(): void {
    this.#running = true;
    for (let command = this.#queue.shift(); command; command = this.#queue.shift()) {
      if (this.#hooks.stopped()) break;
      let result: void | Promise<void>;
      try {
        result = this.#hooks.execute(command);
      } catch (error) {
        this.#fail(command, error);
        continue;
      }
      if (result instanceof Promise) {
        this.#pending = result.then(
          () => this.#resume(),
          (error) => {
            this.#fail(command, error);
            this.#resume();
          },
        );
        return;
      }
    }
    this.#running = false;
    this.#hooks.idle?.();
  }

  #fail(command: Command, error: unknown): void {
    this.#queue.length = 0;
    this.#hooks.failed(command, error);
  }

  #resume(): void {
    this.#pending = undefined;
    this.#run();
  }
}
