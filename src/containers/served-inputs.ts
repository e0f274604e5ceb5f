/** An input document a container fetches at its input URL, with the token that opens it. */
export interface ServedInput {
  json: string
  token: string
}

/**
 * The inputs served at containers' input URLs, by container name, held in memory: answering a
 * request for one costs no engine call, whatever name it asks for. Filled from the store once,
 * on first use after a start (`load`), then kept current by launches and removals.
 */
export class ServedInputs {
  readonly #byName = new Map<string, ServedInput & { id: string }>()
  readonly #load: () => Promise<Iterable<[name: string, id: string, served: ServedInput]>>
  #loaded: Promise<void> | undefined

  constructor(load: () => Promise<Iterable<[name: string, id: string, served: ServedInput]>>) {
    this.#load = load
  }

  /** The input served for `name`, if any. Rejects (and retries next time) when loading fails. */
  async get(name: string): Promise<ServedInput | undefined> {
    this.#loaded ??= this.#load().then(
      (entries) => {
        for (const [entryName, id, served] of entries)
          if (!this.#byName.has(entryName)) this.#byName.set(entryName, { id, ...served })
      },
      (err: unknown) => {
        this.#loaded = undefined
        throw err
      },
    )
    await this.#loaded
    return this.#byName.get(name)
  }

  /** Remember the input of a container just launched. */
  set(name: string, id: string, served: ServedInput): void {
    this.#byName.set(name, { id, ...served })
  }

  /** Read the store again on next use (another replica launched or changed a container). */
  reload(): void {
    this.#loaded = undefined
  }

  /** Forget the input of a container that is gone. */
  forget(id: string): void {
    for (const [name, entry] of this.#byName) if (entry.id === id) this.#byName.delete(name)
  }
}
