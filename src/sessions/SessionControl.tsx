import { ReactWidget, UseSignal } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import {
  ISessionJSON,
  sessionAction,
  SessionState,
  warmKernels
} from '../model/sessions';
import { SessionStore } from './store';

export interface ISessionControlOptions {
  store: SessionStore;
  trans: TranslationBundle;
  /** The pipeline file the editor shows now (it follows renames). */
  path: () => string;
  start: (path: string) => void;
  stop: (path: string) => void;
}

/**
 * The pipeline editor's toolbar item for its interactive session: what the session is
 * doing, and the button that starts or stops it.
 */
export class SessionControl extends ReactWidget {
  constructor(private readonly options: ISessionControlOptions) {
    super();
    this.addClass('jp-OrchestSessionControl');
  }

  protected render(): JSX.Element {
    const { store } = this.options;
    return (
      <UseSignal signal={store.changed}>
        {() => this.renderSession(store.get(this.options.path()))}
      </UseSignal>
    );
  }

  private renderSession(session: ISessionJSON | null): JSX.Element {
    const { trans, store } = this.options;
    const path = this.options.path();
    const action = sessionAction(session);
    const failure = store.startFailure(path);
    const state = session?.state ?? null;
    const words = state
      ? sessionStateWords(state, trans)
      : failure
        ? trans.__('Session not started')
        : trans.__('No session');
    return (
      <>
        <span
          className={`jp-OrchestSessionControl-state jp-mod-${(state ?? 'none').toLowerCase()}`}
          title={sessionTooltip(session, failure, trans)}
        >
          <span className="jp-OrchestSessionControl-dot" />
          {words}
        </span>
        <button
          className="jp-ToolbarButtonComponent jp-OrchestSessionControl-button"
          disabled={action === 'wait'}
          title={
            action === 'start'
              ? trans.__(
                  'Start the pipeline’s session: warm kernels and its services'
                )
              : trans.__(
                  'Stop the pipeline’s session: its run, kernels and services'
                )
          }
          onClick={() =>
            action === 'start'
              ? this.options.start(path)
              : this.options.stop(path)
          }
        >
          <span className="jp-ToolbarButtonComponent-label">
            {action === 'start'
              ? trans.__('Start session')
              : trans.__('Stop session')}
          </span>
        </button>
      </>
    );
  }
}

export function sessionStateWords(
  state: SessionState,
  trans: TranslationBundle
): string {
  switch (state) {
    case 'LAUNCHING':
      return trans.__('Session starting…');
    case 'RUNNING':
      return trans.__('Session running');
    case 'STOPPING':
      return trans.__('Session stopping…');
    case 'FAILED':
      return trans.__('Session failed');
    case 'STOPPED':
      return trans.__('No session');
  }
}

/** What the session holds, or why it failed, for the control's tooltip. */
function sessionTooltip(
  session: ISessionJSON | null,
  failure: string | null,
  trans: TranslationBundle
): string {
  if (session === null) {
    return failure ?? trans.__('This pipeline has no interactive session.');
  }
  if (session.message) {
    return session.message;
  }
  const kernels = warmKernels(session);
  return [
    trans._n('%1 warm kernel', '%1 warm kernels', kernels),
    trans._n('%1 service', '%1 services', session.services.length)
  ].join(' · ');
}
