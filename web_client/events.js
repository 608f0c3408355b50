// A tiny typed-ish event emitter on top of EventTarget: emit(name, detail) / on(name, fn).

export class Emitter extends EventTarget {
  /** Dispatch `name` with `detail` to every listener. */
  emit(name, detail) {
    this.dispatchEvent(new CustomEvent(name, { detail }));
  }

  /** Call `fn(detail)` on every `name`; returns a function that removes the listener. */
  on(name, fn) {
    const listener = (event) => fn(event.detail);
    this.addEventListener(name, listener);
    return () => this.removeEventListener(name, listener);
  }
}
