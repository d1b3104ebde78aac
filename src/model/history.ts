/**
 * Undo and redo over immutable snapshots.
 *
 * Each edit records the state before it. Edits that belong together (the keystrokes of
 * one title, the moves of one drag) share a key and are recorded once, so one undo takes
 * back the whole gesture.
 */

/** How long after an edit another edit with the same key still belongs to it. */
const COALESCE_MS = 1500;

/** Snapshots kept for undo; older ones are dropped. */
const MAX_UNDO = 200;

export class UndoHistory<T> {
  constructor(private readonly now: () => number = Date.now) {}

  get canUndo(): boolean {
    return this.undoStack.length > 0;
  }

  get canRedo(): boolean {
    return this.redoStack.length > 0;
  }

  /**
   * Record that the state `before` is being replaced by an edit.
   *
   * With a `key` equal to the previous edit's, made shortly after it, the edit joins the
   * previous one and nothing is recorded.
   */
  record(before: T, key?: string): void {
    const at = this.now();
    const joins =
      key !== undefined &&
      key === this.lastKey &&
      at - this.lastAt < COALESCE_MS &&
      this.undoStack.length > 0;
    this.lastKey = key;
    this.lastAt = at;
    this.redoStack = [];
    if (joins) {
      return;
    }
    this.undoStack.push(before);
    if (this.undoStack.length > MAX_UNDO) {
      this.undoStack.shift();
    }
  }

  /** The state to go back to from `current`, or null when there is none. */
  undo(current: T): T | null {
    const previous = this.undoStack.pop();
    if (previous === undefined) {
      return null;
    }
    this.redoStack.push(current);
    this.lastKey = undefined;
    return previous;
  }

  /** The state to go forward to from `current`, or null when there is none. */
  redo(current: T): T | null {
    const next = this.redoStack.pop();
    if (next === undefined) {
      return null;
    }
    this.undoStack.push(current);
    this.lastKey = undefined;
    return next;
  }

  clear(): void {
    this.undoStack = [];
    this.redoStack = [];
    this.lastKey = undefined;
  }

  private undoStack: T[] = [];
  private redoStack: T[] = [];
  private lastKey: string | undefined;
  private lastAt = 0;
}
