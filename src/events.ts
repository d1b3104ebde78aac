import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';
import { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';

import { API_ROOT } from './api';
import { OrchestEvent } from './model/runs';

/** Waits before reconnecting after the stream closed: doubled each time, up to the last. */
const RECONNECT_DELAYS_MS = [500, 1000, 2000, 5000];

/**
 * The server's live events (run, step, log, build), through one WebSocket for the whole
 * lab, reconnected when the server restarts or the network drops.
 */
export class OrchestEvents implements IDisposable {
  constructor(private readonly serverSettings: ServerConnection.ISettings) {
    this.connect();
  }

  /** Every event the server sends. */
  get received(): ISignal<this, OrchestEvent> {
    return this._received;
  }

  /** Emitted after the stream came back from a break: state read before may be stale. */
  get reconnected(): ISignal<this, void> {
    return this._reconnected;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    window.clearTimeout(this.retryTimer);
    this.socket?.close();
    Signal.clearData(this);
  }

  private connect(): void {
    const { wsUrl, token, appendToken } = this.serverSettings;
    let url = URLExt.join(wsUrl, API_ROOT, 'events');
    if (appendToken && token) {
      url += `?token=${encodeURIComponent(token)}`;
    }
    const socket = new this.serverSettings.WebSocket(url);
    this.socket = socket;
    socket.onopen = () => {
      if (this.failures > 0) {
        this._reconnected.emit();
      }
      this.failures = 0;
    };
    socket.onmessage = message => {
      try {
        this._received.emit(JSON.parse(message.data) as OrchestEvent);
      } catch (error) {
        console.error('jupyter-orchest: an event could not be read', error);
      }
    };
    socket.onclose = () => {
      if (this._isDisposed) {
        return;
      }
      const delay =
        RECONNECT_DELAYS_MS[
          Math.min(this.failures, RECONNECT_DELAYS_MS.length - 1)
        ];
      this.failures += 1;
      this.retryTimer = window.setTimeout(() => this.connect(), delay);
    };
  }

  private socket: WebSocket | null = null;
  private failures = 0;
  private retryTimer = 0;
  private _isDisposed = false;
  private _received = new Signal<this, OrchestEvent>(this);
  private _reconnected = new Signal<this, void>(this);
}
