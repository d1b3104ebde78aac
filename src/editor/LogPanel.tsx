import * as React from 'react';

import { OrchestClient } from '../api';
import { OrchestEvents } from '../events';
import { IRunJSON, IStepRunJSON, OrchestEvent } from '../model/runs';
import { useTrans } from '../translation';
import { StepFiles } from './StepFiles';

/** The most output kept on screen, in bytes; older output is dropped from the top. */
const MAX_SHOWN_BYTES = 200_000;

/** Bytes read at a time: a step that printed a flood is read a page at a time. */
const PAGE_BYTES = 256 * 1024;

/**
 * Follow a step's output in a run: read what is there, then read on from where it
 * stopped each time the server says the step printed more (or that this client missed
 * some of what it printed: `log_skipped`).
 *
 * Reading by byte offset from the server (rather than appending the events' text) never
 * shows a line twice or misses one, however events and reads interleave. A log longer
 * than what is shown is read from near its end, not from its start.
 */
export function useStepLog(
  client: OrchestClient,
  events: OrchestEvents,
  runId: string | null,
  stepUuid: string | null
): { text: string; error: string | null } {
  const trans = useTrans();
  const [state, setState] = React.useState({
    text: '',
    error: null as string | null
  });
  React.useEffect(() => {
    setState({ text: '', error: null });
    if (runId === null || stepUuid === null) {
      return;
    }
    let offset = 0;
    let reading = false;
    let readAgain = false;
    let stopped = false;
    const decoder = new TextDecoder();
    const show = (more: string, restart: boolean) =>
      setState(previous => ({
        text: ((restart ? '' : previous.text) + more).slice(-MAX_SHOWN_BYTES),
        error: null
      }));
    const readPage = async (): Promise<boolean> => {
      const page = await client.stepLog(runId, stepUuid, offset, PAGE_BYTES);
      if (stopped) {
        return false;
      }
      if (page.size - offset > MAX_SHOWN_BYTES + PAGE_BYTES) {
        // Far behind: what would be read now would scroll away unseen. Start again
        // from the first line that will stay on screen.
        offset = page.size - MAX_SHOWN_BYTES;
        const head = await client.stepLog(runId, stepUuid, offset, PAGE_BYTES);
        if (stopped) {
          return false;
        }
        const text = decoder.decode(head.bytes);
        const lineStart = text.indexOf('\n') + 1;
        offset += head.bytes.length;
        show(
          trans.__(
            '[only the end of this log is shown: it is %1 MB long]\n',
            (head.size / 1e6).toFixed(1)
          ) + text.slice(lineStart),
          true
        );
        return offset < head.size;
      }
      offset += page.bytes.length;
      if (page.bytes.length > 0) {
        show(decoder.decode(page.bytes), false);
      }
      return offset < page.size;
    };
    const read = async () => {
      if (reading) {
        readAgain = true;
        return;
      }
      reading = true;
      do {
        readAgain = false;
        try {
          while (!stopped && (await readPage())) {
            // the rest of what is there, a page at a time
          }
        } catch (error) {
          if (!stopped) {
            setState(previous => ({
              ...previous,
              error: (error as Error).message
            }));
          }
        }
      } while (readAgain && !stopped);
      reading = false;
    };
    const onEvent = (_: OrchestEvents, event: OrchestEvent) => {
      if (
        (event.type === 'log' ||
          event.type === 'log_skipped' ||
          event.type === 'step') &&
        event.run_id === runId &&
        event.step_uuid === stepUuid
      ) {
        void read();
      }
    };
    events.received.connect(onEvent);
    void read();
    return () => {
      stopped = true;
      events.received.disconnect(onEvent);
    };
  }, [client, events, runId, stepUuid, trans]);
  return state;
}

/** A step's output, scrolled to the end as it grows unless the user scrolled up. */
export function LogView(props: {
  text: string;
  error: string | null;
  empty: string;
}): JSX.Element {
  const pre = React.useRef<HTMLPreElement>(null);
  const pinned = React.useRef(true);
  React.useLayoutEffect(() => {
    if (pre.current && pinned.current) {
      pre.current.scrollTop = pre.current.scrollHeight;
    }
  }, [props.text]);
  return (
    <pre
      ref={pre}
      className="jp-OrchestLog-output"
      onScroll={event => {
        const node = event.currentTarget;
        pinned.current =
          node.scrollHeight - node.scrollTop - node.clientHeight < 8;
      }}
    >
      {props.text || (props.error ? '' : props.empty)}
      {props.error && (
        <span className="jp-OrchestLog-error">{props.error}</span>
      )}
    </pre>
  );
}

/** The editor's log panel: the output of the step it follows, in the run shown. */
export function LogPanel(props: {
  client: OrchestClient;
  events: OrchestEvents;
  run: IRunJSON | null;
  stepUuid: string;
  stepTitle: string;
  onClose: () => void;
}): JSX.Element {
  const { run, stepUuid } = props;
  const trans = useTrans();
  const inRun = run?.steps.find(step => step.uuid === stepUuid) ?? null;
  const { text, error } = useStepLog(
    props.client,
    props.events,
    inRun ? (run as IRunJSON).id : null,
    stepUuid
  );
  const empty =
    run === null
      ? trans.__('This pipeline has not run yet.')
      : inRun === null
        ? trans.__('This step was not part of the latest run.')
        : inRun.state === 'PENDING'
          ? trans.__('Waiting for the step to start…')
          : trans.__('No output.');
  return (
    <div className="jp-OrchestLog" aria-label={trans.__('Step output')}>
      <div className="jp-OrchestLog-header">
        <span className="jp-OrchestLog-title">
          {trans.__('Output of')} <strong>{props.stepTitle}</strong>
          {inRun && (
            <span className="jp-OrchestLog-state"> · {inRun.state}</span>
          )}
        </span>
        <button
          className="jp-OrchestLog-close"
          title={trans.__('Close the output')}
          onClick={props.onClose}
        >
          ×
        </button>
      </div>
      {inRun && <StepCacheNote step={inRun} />}
      <StepFiles client={props.client} runId={run?.id ?? null} step={inRun} />
      <LogView text={text} error={error} empty={empty} />
    </div>
  );
}

/** Whether a step of a run came from the cache, or why it ran again. */
export function StepCacheNote(props: {
  step: IStepRunJSON;
}): JSX.Element | null {
  const trans = useTrans();
  const { cached, reasons = [] } = props.step;
  if (cached) {
    return (
      <p className="jp-OrchestLog-cache">
        {trans.__('Restored from the cache: nothing it depends on changed.')}
      </p>
    );
  }
  if (reasons.length === 0) {
    return null;
  }
  return (
    <p className="jp-OrchestLog-cache">
      {trans.__('Ran because: %1', reasons.join('; '))}
    </p>
  );
}
