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
 * The pipeline editor's toolbar item for its interactive session: a switch that starts and
 * stops it, saying what it is doing while it starts or stops and, in its tooltip, what it
 * holds or why it failed.
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
    const state = session?.state ?? (failure ? 'NOT_STARTED' : 'NONE');
    const on = action !== 'start';
    return (
      <button
        role="switch"
        aria-checked={on}
        aria-label={trans.__('Session')}
        className={`jp-OrchestSessionControl-switch jp-mod-${state.toLowerCase().replace('_', '-')}`}
        disabled={action === 'wait'}
        title={sessionTooltip(session, failure, trans)}
        onClick={() =>
          on ? this.options.stop(path) : this.options.start(path)
        }
      >
        <span className="jp-OrchestSessionControl-track">
          <span className="jp-OrchestSessionControl-knob" />
        </span>
        <span className="jp-OrchestSessionControl-label">
          {trans.__('Session')}
        </span>
        {/* Only what is not plain on or off, to keep the toolbar narrow. */}
        <span className="jp-OrchestSessionControl-state">
          {transitionWords(state, trans)}
        </span>
      </button>
    );
  }
}

/** The words after the switch: empty when it is plainly on or off. */
function transitionWords(
  state: SessionState | 'NONE' | 'NOT_STARTED',
  trans: TranslationBundle
): string {
  switch (state) {
    case 'LAUNCHING':
      return trans.__('starting…');
    case 'STOPPING':
      return trans.__('stopping…');
    case 'FAILED':
      return trans.__('failed');
    case 'NOT_STARTED':
      return trans.__('not started');
    default:
      return '';
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
    return (
      failure ??
      trans.__(
        'No interactive session: switch on to start one (warm kernels and the pipeline’s services)'
      )
    );
  }
  if (session.message) {
    return session.message;
  }
  const kernels = warmKernels(session);
  return [
    sessionStateWords(session.state, trans),
    trans._n('%1 warm kernel', '%1 warm kernels', kernels),
    trans._n('%1 service', '%1 services', session.services.length)
  ].join(' · ');
}
