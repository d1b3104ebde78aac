/**
 * Parts every section of the Orchest sidebar uses.
 */

import { ISignal } from '@lumino/signaling';
import * as React from 'react';

import { useTrans } from '../translation';

/** Emissions of a signal, as a number that grows with each (for effects to follow). */
export function useSignalCount(signal: ISignal<unknown, unknown>): number {
  const [count, setCount] = React.useState(0);
  React.useEffect(() => {
    const slot = () => setCount(value => value + 1);
    signal.connect(slot);
    return () => {
      signal.disconnect(slot);
    };
  }, [signal]);
  return count;
}

export function Section(props: {
  title: string;
  actions?: React.ReactNode;
  children: React.ReactNode;
}): JSX.Element {
  return (
    <section className="jp-OrchestSidebar-section" aria-label={props.title}>
      <header className="jp-OrchestSidebar-header">
        <h2>{props.title}</h2>
        {props.actions}
      </header>
      {props.children}
    </section>
  );
}

export function RefreshButton({
  onClick
}: {
  onClick: () => void;
}): JSX.Element {
  const trans = useTrans();
  return (
    <button
      className="jp-OrchestSidebar-refresh"
      title={trans.__('Refresh')}
      onClick={onClick}
    >
      ↻
    </button>
  );
}
