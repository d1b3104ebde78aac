/**
 * The state of one pipeline editor, outside React: the definition with its undo history,
 * the selection, the latest run and what the editor tells the user.
 *
 * React components read it through `version` (see `useEditorModel`) and change it through
 * its methods only, so every change is recorded for undo in one place.
 */

import { ISignal, Signal } from '@lumino/signaling';

import { IValidationIssue } from '../api';
import {
  addStep,
  connectionsOf,
  IConnection,
  INewStep,
  IPipelineJSON,
  moveSteps,
  parsePipeline,
  PipelinePatch,
  Position,
  removeConnections,
  removeSteps,
  StepPatch,
  updatePipeline,
  updateStep
} from '../model/definition';
import { connect } from '../model/graph';
import { UndoHistory } from '../model/history';
import { layoutSteps, positionsForUnplaced } from '../model/layout';
import {
  applyRunEvent,
  IRunJSON,
  mergeRunReadings,
  OrchestEvent
} from '../model/runs';

/** Runs, and events per run, kept while their run is not shown yet (see `keepEarlyEvent`). */
const EARLY_RUNS_KEPT = 4;
const EARLY_EVENTS_KEPT = 5000;

/** A connection's id on the canvas. */
export function connectionId({ parent, child }: IConnection): string {
  return `${parent}->${child}`;
}

/** A short message for the user, shown over the canvas until the next one. */
export interface INotice {
  kind: 'info' | 'error';
  text: string;
  /** Grows with each notice, so the same text shown twice still shows anew. */
  serial: number;
}

export class PipelineEditorModel {
  /** Emitted after any change, for the views. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** Emitted after an edit of the definition, for the document's text to follow. */
  get edited(): ISignal<this, IPipelineJSON> {
    return this._edited;
  }

  /** Grows with every change; React re-renders when it moves. */
  get version(): number {
    return this._version;
  }

  get pipeline(): IPipelineJSON | null {
    return this._pipeline;
  }

  /** Why the file cannot be shown, when it cannot. */
  get parseError(): string | null {
    return this._parseError;
  }

  get issues(): readonly IValidationIssue[] {
    return this._issues;
  }

  get selection(): ReadonlySet<string> {
    return this._selection;
  }

  get selectedConnections(): ReadonlySet<string> {
    return this._selectedConnections;
  }

  get run(): IRunJSON | null {
    return this._run;
  }

  get notice(): INotice | null {
    return this._notice;
  }

  get canUndo(): boolean {
    return this.history.canUndo;
  }

  get canRedo(): boolean {
    return this.history.canRedo;
  }

  /** The step whose output the log panel shows, if it is open. */
  get logStep(): string | null {
    return this._logStep;
  }

  /**
   * Load the document's text. Called for the first load and for every change made
   * outside this editor (revert, another editor, the file changing on disk): the undo
   * history starts afresh, since it would undo changes the editor never made.
   */
  load(text: string): void {
    const result = parsePipeline(text);
    this.history.clear();
    if (result.ok) {
      this._parseError = null;
      this._pipeline = result.pipeline;
      const unplaced = positionsForUnplaced(result.pipeline);
      if (unplaced.size > 0) {
        // Only positions are added; the document stays clean until the user edits.
        this._pipeline = moveSteps(result.pipeline, unplaced);
      }
      this.pruneSelection();
    } else {
      this._parseError = result.message;
      this._pipeline = null;
    }
    this.emitChanged();
  }

  setIssues(issues: readonly IValidationIssue[]): void {
    this._issues = issues;
    this.emitChanged();
  }

  /** Apply an edit to the definition, recorded for undo (with `key`: joined to the last edit with that key). */
  edit(change: (pipeline: IPipelineJSON) => IPipelineJSON, key?: string): void {
    if (this._pipeline === null) {
      return;
    }
    const next = change(this._pipeline);
    if (next === this._pipeline) {
      return;
    }
    this.history.record(this._pipeline, key);
    this.replace(next);
  }

  undo(): void {
    if (this._pipeline === null) {
      return;
    }
    const previous = this.history.undo(this._pipeline);
    if (previous !== null) {
      this.replace(previous);
    }
  }

  redo(): void {
    if (this._pipeline === null) {
      return;
    }
    const next = this.history.redo(this._pipeline);
    if (next !== null) {
      this.replace(next);
    }
  }

  addSteps(steps: readonly INewStep[]): void {
    if (steps.length === 0) {
      return;
    }
    this.edit(pipeline => steps.reduce(addStep, pipeline));
    this._selection = new Set(steps.map(step => step.uuid));
    this._selectedConnections = new Set();
    this.emitChanged();
  }

  /** Connect two steps; a connection that would break the DAG is refused with a notice. */
  connect(parent: string, child: string): boolean {
    if (this._pipeline === null) {
      return false;
    }
    const result = connect(this._pipeline, parent, child);
    if (!result.ok) {
      this.notify('error', result.message);
      return false;
    }
    this.edit(() => result.pipeline);
    return true;
  }

  /** Delete the selected steps and connections, as one edit. */
  deleteSelection(): void {
    const connections = (
      this._pipeline ? connectionsOf(this._pipeline) : []
    ).filter(connection =>
      this._selectedConnections.has(connectionId(connection))
    );
    const steps = [...this._selection];
    this.edit(pipeline =>
      removeSteps(removeConnections(pipeline, connections), steps)
    );
    this._selection = new Set();
    this._selectedConnections = new Set();
    this.emitChanged();
  }

  /** Move steps; the moves of one drag are one edit. */
  moveSteps(positions: ReadonlyMap<string, Position>): void {
    this.edit(pipeline => moveSteps(pipeline, positions), 'move');
  }

  /** Lay every step out again, parents left of their children. */
  autoLayout(): void {
    this.edit(pipeline => moveSteps(pipeline, layoutSteps(pipeline)));
  }

  /** Change a step's properties; successive changes of one field are one edit. */
  updateStep(uuid: string, patch: StepPatch): void {
    const key = `step:${uuid}:${Object.keys(patch).join(',')}`;
    this.edit(pipeline => updateStep(pipeline, uuid, patch), key);
  }

  updatePipeline(patch: PipelinePatch): void {
    const key = `pipeline:${Object.keys(patch).join(',')}`;
    this.edit(pipeline => updatePipeline(pipeline, patch), key);
  }

  select(steps: Iterable<string>, connections: Iterable<string> = []): void {
    const nextSteps = new Set(steps);
    const nextConnections = new Set(connections);
    if (
      sameSet(nextSteps, this._selection) &&
      sameSet(nextConnections, this._selectedConnections)
    ) {
      return;
    }
    this._selection = nextSteps;
    this._selectedConnections = nextConnections;
    this.emitChanged();
  }

  selectAll(): void {
    if (this._pipeline !== null) {
      this.select(Object.keys(this._pipeline.steps));
    }
  }

  /**
   * Show this run. Events of it that came first are applied, and a reading older than what
   * is shown of the same run takes no step back.
   */
  setRun(run: IRunJSON | null): void {
    if (run !== null) {
      if (this._run !== null) {
        run = mergeRunReadings(this._run, run);
      }
      run = (this._earlyEvents.get(run.id) ?? []).reduce(applyRunEvent, run);
      this._earlyEvents.delete(run.id);
    }
    this._run = run;
    this.emitChanged();
  }

  /**
   * Follow a live event of the run shown. Returns false for an event of another run of
   * this pipeline (a run started elsewhere), which the caller may want to read in full.
   */
  applyEvent(event: OrchestEvent): boolean {
    if (event.type !== 'run' && event.type !== 'step') {
      return true;
    }
    if (
      this._pipeline === null ||
      event.pipeline_uuid !== this._pipeline.uuid
    ) {
      return true;
    }
    if (this._run === null || this._run.id !== event.run_id) {
      this.keepEarlyEvent(event.run_id, event);
      return false;
    }
    this.setRun(applyRunEvent(this._run, event));
    return true;
  }

  showLog(step: string | null): void {
    this._logStep = step;
    this.emitChanged();
  }

  notify(kind: INotice['kind'], text: string): void {
    this._notice = { kind, text, serial: (this._notice?.serial ?? 0) + 1 };
    this.emitChanged();
  }

  dismissNotice(): void {
    this._notice = null;
    this.emitChanged();
  }

  /**
   * A fast run's events can arrive before the reply that starts it (or the reading that
   * adopts it): they are kept, for a few runs, until the run is shown.
   */
  private keepEarlyEvent(runId: string, event: OrchestEvent): void {
    const events = this._earlyEvents.get(runId) ?? [];
    if (events.length === 0) {
      this._earlyEvents.set(runId, events);
      for (const old of [...this._earlyEvents.keys()].slice(
        0,
        -EARLY_RUNS_KEPT
      )) {
        this._earlyEvents.delete(old);
      }
    }
    events.push(event);
    if (events.length > EARLY_EVENTS_KEPT) {
      events.shift(); // the latest say the most
    }
  }

  private replace(next: IPipelineJSON): void {
    this._pipeline = next;
    this.pruneSelection();
    this._edited.emit(next);
    this.emitChanged();
  }

  /** Forget selected steps and connections that no longer exist. */
  private pruneSelection(): void {
    const pipeline = this._pipeline;
    if (pipeline === null) {
      return;
    }
    const steps = [...this._selection].filter(uuid => uuid in pipeline.steps);
    const existing = new Set(connectionsOf(pipeline).map(connectionId));
    const connections = [...this._selectedConnections].filter(id =>
      existing.has(id)
    );
    if (steps.length !== this._selection.size) {
      this._selection = new Set(steps);
    }
    if (connections.length !== this._selectedConnections.size) {
      this._selectedConnections = new Set(connections);
    }
    if (this._logStep !== null && !(this._logStep in pipeline.steps)) {
      this._logStep = null;
    }
  }

  private emitChanged(): void {
    this._version += 1;
    this._changed.emit();
  }

  private history = new UndoHistory<IPipelineJSON>();
  private _pipeline: IPipelineJSON | null = null;
  private _parseError: string | null = null;
  private _issues: readonly IValidationIssue[] = [];
  private _selection: ReadonlySet<string> = new Set();
  private _selectedConnections: ReadonlySet<string> = new Set();
  private _run: IRunJSON | null = null;
  private _earlyEvents = new Map<string, OrchestEvent[]>();
  private _notice: INotice | null = null;
  private _logStep: string | null = null;
  private _version = 0;
  private _changed = new Signal<this, void>(this);
  private _edited = new Signal<this, IPipelineJSON>(this);
}

function sameSet<T>(a: ReadonlySet<T>, b: ReadonlySet<T>): boolean {
  return a.size === b.size && [...a].every(item => b.has(item));
}
