import * as React from 'react';

import { PipelineEditorModel } from './model';

/** Re-render when the editor's model changes; returns its version. */
export function useModelVersion(model: PipelineEditorModel): number {
  const subscribe = React.useCallback(
    (onChange: () => void) => {
      const slot = () => onChange();
      model.changed.connect(slot);
      return () => {
        model.changed.disconnect(slot);
      };
    },
    [model]
  );
  return React.useSyncExternalStore(subscribe, () => model.version);
}

/** The current time, ticking every second while `ticking` (for elapsed times). */
export function useClock(ticking: boolean): number {
  const [now, setNow] = React.useState(() => Date.now());
  React.useEffect(() => {
    if (!ticking) {
      return;
    }
    setNow(Date.now());
    const timer = window.setInterval(() => setNow(Date.now()), 1000);
    return () => window.clearInterval(timer);
  }, [ticking]);
  return now;
}
