/**
 * Stable client ids for `?client=<id>` on the stream URL (docs/api.md):
 * a new stream with the same client id (and user) makes the server close the
 * older one with reason `superseded`. That is what keeps a reloaded tab at one
 * connection even when its disconnect beacon was lost.
 *
 * The dashboard's id is per tab, kept in sessionStorage so that a reload keeps
 * it. But "Duplicate tab" (and window.open without noopener) copies
 * sessionStorage, and two live tabs with one id would supersede each other.
 * So before using a stored id, a tab asks the other tabs of this origin on a
 * BroadcastChannel "who owns client id X?" and waits a moment:
 *
 * - a reloaded tab: its old page is gone, nobody answers, it keeps the id and
 *   its new stream supersedes the old one on the server;
 * - a duplicated tab: the original answers "mine", the copy takes a fresh id.
 *
 * Two tabs claiming one stored id at the same moment (both loading) see each
 * other's question; the one with the larger random nonce gives way.
 */

/** What the server accepts as a client id: 1-64 of [A-Za-z0-9._-]. */
export const CLIENT_ID_RE = /^[A-Za-z0-9._-]{1,64}$/;

/** Where the stream's client id comes from (see SSEClientOptions.clientId). */
export interface ClientIdSource {
  /** The id to use; may take a moment (asking other tabs). Called once per source. */
  claim(): Promise<string> | string;
  /** Another tab or window now uses our id (we were superseded): take a new one. */
  renew?(): string;
}

/** A random id such as "tab-3f9c0a1b7d2e4c58a1b2c3d4e5f60718" (`bytes` random bytes: 128 bits by default). */
export function randomClientId(prefix = 'tab', size = 16): string {
  const bytes = new Uint8Array(size);
  if (typeof crypto !== 'undefined' && typeof crypto.getRandomValues === 'function') {
    crypto.getRandomValues(bytes);
  } else {
    for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(Math.random() * 256);
  }
  return `${prefix}-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}

/** The part of BroadcastChannel we use (tests pass a fake). */
export interface ChannelLike {
  postMessage(message: unknown): void;
  addEventListener(type: 'message', listener: (ev: MessageEvent) => void): void;
  close(): void;
}

export interface TabClientIdOptions {
  /** Where the id survives a reload; sessionStorage by default, null for none. */
  storage?: Pick<Storage, 'getItem' | 'setItem'> | null;
  /** Storage key. */
  key?: string;
  /** BroadcastChannel name shared by the tabs of this origin. */
  channelName?: string;
  /** How long to wait for another tab to say it owns the stored id, in ms. */
  waitMs?: number;
  /** The channel to use; BroadcastChannel by default, null if unavailable. */
  createChannel?: (name: string) => ChannelLike | null;
  createId?: () => string;
}

type Message =
  | { kind: 'who-owns'; id: string; from: string }
  | { kind: 'owned'; id: string; from: string; to: string };

function isMessage(x: unknown): x is Message {
  if (!x || typeof x !== 'object') return false;
  const m = x as Record<string, unknown>;
  return (m.kind === 'who-owns' || m.kind === 'owned') && typeof m.id === 'string' && typeof m.from === 'string';
}

function defaultStorage(): Pick<Storage, 'getItem' | 'setItem'> | null {
  try {
    return typeof sessionStorage !== 'undefined' ? sessionStorage : null;
  } catch {
    return null; // storage disabled (privacy settings)
  }
}

function defaultChannel(name: string): ChannelLike | null {
  try {
    return typeof BroadcastChannel === 'function' ? new BroadcastChannel(name) : null;
  } catch {
    return null;
  }
}

export class TabClientId implements ClientIdSource {
  private readonly storage: Pick<Storage, 'getItem' | 'setItem'> | null;
  private readonly key: string;
  private readonly waitMs: number;
  private readonly createId: () => string;
  private readonly channel: ChannelLike | null;
  /** This instance, on the channel. */
  private readonly nonce = randomClientId('n');
  /** The id this tab owns (answers for), once claimed. */
  private owned: string | null = null;
  /** The stored id being claimed, while we wait for answers. */
  private pending: string | null = null;
  private giveUp: (() => void) | null = null;
  private claiming: Promise<string> | null = null;

  constructor(options: TabClientIdOptions = {}) {
    this.storage = options.storage === undefined ? defaultStorage() : options.storage;
    this.key = options.key ?? 'sse-fcgi.client-id';
    this.waitMs = options.waitMs ?? 150;
    this.createId = options.createId ?? (() => randomClientId());
    this.channel = (options.createChannel ?? defaultChannel)(options.channelName ?? 'sse-fcgi.client-id');
    this.channel?.addEventListener('message', this.onMessage);
  }

  /** The id owned by this tab, null until claim() resolved. */
  get current(): string | null {
    return this.owned;
  }

  claim = (): Promise<string> => {
    this.claiming ??= this.doClaim();
    return this.claiming;
  };

  renew = (): string => {
    const id = this.createId();
    this.own(id);
    this.claiming = Promise.resolve(id);
    return id;
  };

  /** Stop answering for our id (tests; a real tab answers as long as it lives). */
  close(): void {
    this.channel?.close();
    this.owned = null;
  }

  private async doClaim(): Promise<string> {
    const stored = this.read();
    if (!stored) {
      const id = this.createId();
      this.own(id);
      return id;
    }
    if (!this.channel) {
      // Nobody to ask: assume a reload, the common case.
      this.own(stored);
      return stored;
    }
    this.pending = stored;
    const taken = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), this.waitMs);
      this.giveUp = () => {
        clearTimeout(timer);
        resolve(true);
      };
      this.post({ kind: 'who-owns', id: stored, from: this.nonce });
    });
    this.pending = null;
    this.giveUp = null;
    const id = taken ? this.createId() : stored;
    this.own(id);
    return id;
  }

  private onMessage = (ev: MessageEvent): void => {
    const m: unknown = ev.data;
    if (!isMessage(m) || m.from === this.nonce) return;
    if (m.kind === 'who-owns') {
      if (this.owned !== null && m.id === this.owned) {
        this.post({ kind: 'owned', id: m.id, from: this.nonce, to: m.from });
      } else if (this.pending !== null && m.id === this.pending && m.from < this.nonce) {
        // Both of us are claiming this id right now: the larger nonce gives way.
        this.giveUp?.();
      }
    } else if (m.to === this.nonce && m.id === this.pending) {
      this.giveUp?.();
    }
  };

  private own(id: string): void {
    this.owned = id;
    try {
      this.storage?.setItem(this.key, id);
    } catch {
      // Quota or privacy mode: the id lasts as long as the page.
    }
  }

  private read(): string | null {
    try {
      const v = this.storage?.getItem(this.key) ?? null;
      return v !== null && CLIENT_ID_RE.test(v) ? v : null;
    } catch {
      return null;
    }
  }

  private post(message: Message): void {
    try {
      this.channel?.postMessage(message);
    } catch {
      // A closed channel: nobody will hear us, nobody will answer.
    }
  }
}

let tabSingleton: TabClientId | null = null;

/** The one TabClientId of this page (it must answer for its id as long as the page lives). */
export function tabClientId(): TabClientId {
  tabSingleton ??= new TabClientId();
  return tabSingleton;
}

const KIOSK_KEY = 'sse-fcgi.kiosk-client-id';
/** A stored kiosk id is kept only if it has at least 96 random bits (24 hex digits). */
const KIOSK_ID_RE = /^kiosk-[0-9a-f]{24,58}$/;

/**
 * The client id of a kiosk: random (128 bits), made once per browser and
 * kept in localStorage, so a restarted kiosk browser is still the same
 * screen to the server (it replaces its own old stream), while another
 * browser that opens the same display name is another screen (refused with
 * 409 while this one is live, unless it has the display's key). Never derived
 * from the display name, which anyone can type. Without storage: random for
 * this page load.
 */
export function kioskClientId(storage: Pick<Storage, 'getItem' | 'setItem'> | null = defaultLocalStorage()): string {
  try {
    const stored = storage?.getItem(KIOSK_KEY) ?? null;
    if (stored !== null && KIOSK_ID_RE.test(stored)) return stored;
  } catch {
    // Storage disabled: a fresh id.
  }
  const id = randomClientId('kiosk');
  try {
    storage?.setItem(KIOSK_KEY, id);
  } catch {
    // Quota or privacy mode: the id lasts as long as the page.
  }
  return id;
}

function defaultLocalStorage(): Pick<Storage, 'getItem' | 'setItem'> | null {
  try {
    return typeof localStorage !== 'undefined' ? localStorage : null;
  } catch {
    return null;
  }
}
