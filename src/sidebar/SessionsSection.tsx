import * as React from 'react';

import {
  ISessionEnvironmentJSON,
  ISessionJSON,
  ISessionServiceJSON,
  sessionAction
} from '../model/sessions';
import { sessionStateWords } from '../sessions/SessionControl';
import { SessionStore } from '../sessions/store';
import { useTrans } from '../translation';
import { RefreshButton, Section, useSignalCount } from './common';

export interface ISessionsSectionProps {
  sessions: SessionStore;
  /** The path of the pipeline of the editor last active, or null. */
  currentPath: string | null;
  startSession: (path: string) => void;
  stopSession: (path: string) => void;
  openPipeline: (path: string) => void;
}

/**
 * The sidebar's list of interactive sessions, of every pipeline: their state, the
 * environments they keep kernels warm in, and their services with the addresses a browser
 * reaches them at.
 */
export function SessionsSection(props: ISessionsSectionProps): JSX.Element {
  const trans = useTrans();
  const { sessions: store, currentPath } = props;
  useSignalCount(store.changed);
  const sessions = store.sessions;
  const startFailure = currentPath ? store.startFailure(currentPath) : null;
  return (
    <Section
      title={trans.__('Sessions')}
      actions={<RefreshButton onClick={() => void store.refresh()} />}
    >
      {store.error && <p className="jp-OrchestSidebar-error">{store.error}</p>}
      {sessions.length === 0 && (
        <p className="jp-OrchestSidebar-empty">
          {trans.__('No sessions are running.')}
        </p>
      )}
      {currentPath !== null &&
        sessionAction(store.get(currentPath)) === 'start' && (
          <div className="jp-OrchestSidebar-start">
            <button
              className="jp-OrchestSidebar-action"
              onClick={() => props.startSession(currentPath)}
            >
              {trans.__('Start session of %1', currentPath)}
            </button>
            {startFailure && (
              <p className="jp-OrchestSidebar-error">{startFailure}</p>
            )}
          </div>
        )}
      <ul className="jp-OrchestSidebar-list jp-OrchestSidebar-sessions">
        {sessions.map(session => (
          <SessionItem
            key={session.pipeline_path}
            session={session}
            current={session.pipeline_path === currentPath}
            stop={() => props.stopSession(session.pipeline_path)}
            open={() => props.openPipeline(session.pipeline_path)}
          />
        ))}
      </ul>
    </Section>
  );
}

function SessionItem(props: {
  session: ISessionJSON;
  current: boolean;
  stop: () => void;
  open: () => void;
}): JSX.Element {
  const trans = useTrans();
  const { session } = props;
  return (
    <li
      className={props.current ? 'jp-mod-current' : undefined}
      data-pipeline={session.pipeline_path}
    >
      <div className="jp-OrchestSidebar-session">
        <div className="jp-OrchestSidebar-sessionHeader">
          <button
            className="jp-OrchestSidebar-item"
            title={trans.__('Open this pipeline')}
            onClick={props.open}
          >
            <span
              className={`jp-OrchestSidebar-badge jp-mod-${session.state.toLowerCase()}`}
              title={sessionStateWords(session.state, trans)}
            >
              {session.state}
            </span>
            <span className="jp-OrchestSidebar-name">
              {session.pipeline_name || session.pipeline_path}
            </span>
            <span className="jp-OrchestSidebar-detail">
              {session.pipeline_path}
            </span>
          </button>
          <button
            className="jp-OrchestSidebar-action"
            disabled={session.state === 'STOPPING'}
            onClick={props.stop}
          >
            {trans.__('Stop')}
          </button>
        </div>
        {session.message && (
          <p
            className={
              session.state === 'FAILED'
                ? 'jp-OrchestSidebar-error'
                : 'jp-OrchestSidebar-empty'
            }
          >
            {session.message}
          </p>
        )}
        <ul className="jp-OrchestSidebar-parts">
          {session.environments.map(environment => (
            <EnvironmentPart key={environment.uuid} environment={environment} />
          ))}
          {session.services.map(service => (
            <ServicePart key={service.name} service={service} />
          ))}
        </ul>
      </div>
    </li>
  );
}

function EnvironmentPart(props: {
  environment: ISessionEnvironmentJSON;
}): JSX.Element {
  const trans = useTrans();
  const { environment } = props;
  return (
    <li title={environment.message || undefined}>
      <span className="jp-OrchestSidebar-partKind">
        {trans.__('environment')}
      </span>
      <span className="jp-OrchestSidebar-name">{environment.name}</span>
      <span
        className={`jp-OrchestSidebar-badge jp-mod-${environment.state.toLowerCase()}`}
      >
        {environment.state}
      </span>
      <span className="jp-OrchestSidebar-count">
        {trans._n('%1 warm kernel', '%1 warm kernels', environment.kernels)}
      </span>
    </li>
  );
}

function ServicePart(props: { service: ISessionServiceJSON }): JSX.Element {
  const trans = useTrans();
  const { service } = props;
  return (
    <li title={service.message || service.image || service.command}>
      <span className="jp-OrchestSidebar-partKind">{trans.__('service')}</span>
      <span className="jp-OrchestSidebar-name">{service.name}</span>
      <span
        className={`jp-OrchestSidebar-badge jp-mod-${service.state.toLowerCase()}`}
      >
        {service.state}
      </span>
      {service.urls.map(url => (
        <a
          key={url}
          className="jp-OrchestSidebar-link"
          href={url}
          target="_blank"
          rel="noopener noreferrer"
        >
          {url}
        </a>
      ))}
    </li>
  );
}
