import { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';

import { OrchestClient } from '../api';
import { OrchestEvents } from '../events';
import { OrchestEvent } from '../model/runs';
import {
  applySessionReport,
  ISessionJSON,
  mergeSessionList,
  visibleSessions
} from '../model/sessions';

/**
 * The server's interactive sessions, one list for the whole lab (the editors' toolbars and
 * the sidebar), kept up to date from the live events and read again after a break in them.
 */
export class SessionStore implements IDisposable {
  constructor(
    private readonly client: OrchestClient,
    private readonly events: OrchestEvents
  ) {
    events.received.connect(this.onEvent, this);
    events.reconnected.connect(() => void this.refresh(), this);
    void this.refresh();
  }

  /** Emitted when a session, the list, or the error reading it changed. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** The sessions not stopped, by pipeline path. */
  get sessions(): ISessionJSON[] {
    return visibleSessions(this.known);
  }

  /** Why the list could not be read, or null. */
  get error(): string | null {
    return this._error;
  }

  /** The pipeline's session, unless there is none or it stopped. */
  get(pipelinePath: string): ISessionJSON | null {
    const session = this.known.get(pipelinePath);
    return session && session.state !== 'STOPPED' ? session : null;
  }

  /** Read the whole list again (see `mergeSessionList` for the reports meanwhile). */
  async refresh(): Promise<void> {
    const before = this.known;
    try {
      const listed = await this.client.listSessions();
      this.known = mergeSessionList(before, this.known, listed);
      this._error = null;
    } catch (error) {
      this._error = (error as Error).message;
    }
    this._changed.emit();
  }

  /** Why the pipeline's session could not be started the last time, or null. */
  startFailure(pipelinePath: string): string | null {
    return this.startFailures.get(pipelinePath) ?? null;
  }

  /**
   * Start the pipeline's session (the server answers the running one if any). When the
   * server refuses, `startFailure` says why until the next start.
   */
  async start(pipelinePath: string): Promise<ISessionJSON> {
    this.startFailures.delete(pipelinePath);
    try {
      const session = await this.client.startSession(pipelinePath);
      this.apply(session);
      return session;
    } catch (error) {
      this.startFailures.set(pipelinePath, (error as Error).message);
      this._changed.emit();
      throw error;
    }
  }

  async stop(pipelinePath: string): Promise<void> {
    await this.client.stopSession(pipelinePath);
    // The server answers once the session stopped; its event may still be on its way.
    const session = this.known.get(pipelinePath);
    if (session) {
      this.apply({ ...session, state: 'STOPPED' });
    }
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this.events.received.disconnect(this.onEvent, this);
    Signal.clearData(this);
  }

  private onEvent(_: OrchestEvents, event: OrchestEvent): void {
    if (event.type === 'session') {
      this.apply(event.session);
    }
  }

  private apply(report: ISessionJSON): void {
    const next = applySessionReport(this.known, report);
    if (next.get(report.pipeline_path) === report) {
      this.known = next;
      this._changed.emit();
    }
  }

  private known = new Map<string, ISessionJSON>();
  private startFailures = new Map<string, string>();
  private _error: string | null = null;
  private _isDisposed = false;
  private _changed = new Signal<this, void>(this);
}
