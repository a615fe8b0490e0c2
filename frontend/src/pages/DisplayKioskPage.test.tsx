import { act, render, screen } from '@testing-library/react';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { MemoryRouter, Route, Routes } from 'react-router';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { connectedData, FakeStream, setupFakes } from '../sse/test-utils';
import { DisplayKioskPage, KIOSK_RETRY_MS } from './DisplayKioskPage';

const fakes = setupFakes();

const KEY = 'k3y-0f-the-lobby-d1splay-5b7d2f3c';

beforeEach(() => {
  localStorage.clear();
  vi.useFakeTimers();
  vi.spyOn(Math, 'random').mockReturnValue(0);
});

function renderKiosk(path = '/display/lobby') {
  return render(
    <MemoryRouter initialEntries={[path]}>
      <Routes>
        <Route path="/display/:name" element={<DisplayKioskPage />} />
      </Routes>
    </MemoryRouter>,
  );
}

function params(es = FakeStream.last) {
  return new URL(es.url, 'http://x').searchParams;
}

function status() {
  return screen.queryByTestId('kiosk-status');
}

async function advance(ms: number) {
  await act(async () => {
    await vi.advanceTimersByTimeAsync(ms);
  });
}

describe('kiosk client id', () => {
  it('is random, at least 96 bits, kept in localStorage for this browser, never the display name', () => {
    const first = renderKiosk();
    const id = params().get('client')!;
    expect(id).toMatch(/^kiosk-[0-9a-f]{32}$/);
    expect(id).not.toContain('lobby');
    expect(localStorage.getItem('sse-fcgi.kiosk-client-id')).toBe(id);
    first.unmount();
    renderKiosk('/display/reception');
    expect(params().get('client')).toBe(id);
    // Another browser (other storage) is another screen.
    localStorage.clear();
    renderKiosk();
    expect(params().get('client')).not.toBe(id);
  });

  it('streams without credentials (no password prompt can appear on a kiosk)', () => {
    renderKiosk();
    expect(FakeStream.last.credentials).toBe('omit');
  });
});

describe('display key', () => {
  it('goes from the page address into the stream URL, and nowhere else', async () => {
    const logged: unknown[] = [];
    for (const level of ['log', 'info', 'warn', 'error', 'debug'] as const) {
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
        logged.push(...args);
      });
    }
    fakes.fetch.mockImplementation(() => Promise.resolve(new Response(JSON.stringify({ success: true, data: { acked: true, rtt_ms: 1 } }))));
    fakes.sendBeacon.mockReturnValue(false); // the disconnect goes through fetch: it is checked too
    const view = renderKiosk(`/display/lobby?key=${KEY}`);
    expect(params().get('key')).toBe(KEY);
    act(() => FakeStream.last.emit('connected', { ...connectedData('tok-k', 'display'), ack: true }));
    act(() => FakeStream.last.emit('ping', { seq: 1 }));
    act(() => FakeStream.last.refuse(401, 'Wrong key for this display', 'AUTHENTICATION_REQUIRED'));
    await advance(0);
    view.unmount();
    expect(fakes.fetch.mock.calls.length).toBeGreaterThan(0);
    for (const [url, init] of fakes.fetch.mock.calls) {
      expect(String(url)).not.toContain(KEY);
      expect(String(init?.body)).not.toContain(KEY);
    }
    expect(JSON.stringify(logged)).not.toContain(KEY);
    expect(document.title).not.toContain(KEY);
  });

  it('index.html sends no Referer (which would carry the key) and has an icon of its own', () => {
    const html = readFileSync(resolve(process.cwd(), 'index.html'), 'utf8');
    expect(html).toContain('<meta name="referrer" content="no-referrer" />');
    expect(html).toMatch(/<link\s+rel="icon"\s+type="image\/svg\+xml"\s+href="data:image\/svg\+xml,/);
  });
});

describe('kiosk statuses', () => {
  it('409: says the display is live on another screen, and waits 60 s with a countdown before it tries again', async () => {
    renderKiosk();
    act(() => FakeStream.last.refuse(409, 'Display lobby is live on another screen', 'CONFLICT', 1));
    const s = status()!;
    expect(s.getAttribute('data-status')).toBe('409');
    expect(s.textContent).toContain('Display lobby is live on another screen');
    expect(s.textContent).toContain("open this page with the display’s key");
    expect(screen.getByTestId('kiosk-retry').textContent).toMatch(/^Trying again in 1:00 \(at .+\)\.$/);
    await advance(15_000);
    expect(screen.getByTestId('kiosk-retry').textContent).toMatch(/^Trying again in 0:45/);
    // Neither the network coming back nor the page becoming visible makes it try sooner.
    act(() => {
      window.dispatchEvent(new Event('online'));
      document.dispatchEvent(new Event('visibilitychange'));
    });
    await advance(KIOSK_RETRY_MS - 15_001);
    expect(FakeStream.instances).toHaveLength(1);
    await advance(1);
    expect(FakeStream.instances).toHaveLength(2);
    // Refused again: another full minute.
    act(() => FakeStream.last.refuse(409, 'Display lobby is live on another screen', 'CONFLICT', 1));
    await advance(KIOSK_RETRY_MS - 1);
    expect(FakeStream.instances).toHaveLength(2);
  });

  it('401: the display needs its key, or the key is wrong', () => {
    renderKiosk();
    act(() => FakeStream.last.refuse(401, 'This display needs its key', 'AUTHENTICATION_REQUIRED'));
    expect(status()!.textContent).toContain('This display needs its key');
    expect(status()!.textContent).toContain('open this page with the address an administrator gives you');
    expect(screen.getByTestId('kiosk-retry').textContent).toMatch(/in 1:00/);
    renderKiosk(`/display/lobby?key=wrong-key-0123456789`);
    act(() => FakeStream.last.refuse(401, 'Wrong key for this display', 'AUTHENTICATION_REQUIRED'));
    const second = screen.getAllByTestId('kiosk-status')[1];
    expect(second.textContent).toContain('Wrong key for this display');
    expect(second.textContent).toContain('The key in this page’s address is not this display’s key');
  });

  it('404: the name is unknown; it retries slowly', async () => {
    renderKiosk('/display/lobbby');
    act(() => FakeStream.last.refuse(404, 'Unknown display', 'NOT_FOUND'));
    expect(status()!.textContent).toContain('Unknown display name “lobbby”');
    await advance(KIOSK_RETRY_MS - 1);
    expect(FakeStream.instances).toHaveLength(1);
    await advance(1);
    expect(FakeStream.instances).toHaveLength(2);
  });

  it('superseded: another screen took the display over; it steps aside for 60 s, then tries again', async () => {
    renderKiosk();
    act(() => FakeStream.last.emit('connected', connectedData('tok-1', 'display')));
    expect(status()).toBeNull();
    act(() => FakeStream.last.emit('superseded', { message: 'Replaced by a newer connection', reason: 'superseded' }));
    expect(status()!.textContent).toContain('Another screen took over display lobby');
    expect(screen.getByTestId('kiosk-retry').textContent).toMatch(/in 1:00/);
    await advance(KIOSK_RETRY_MS - 1);
    expect(FakeStream.instances).toHaveLength(1);
    await advance(1);
    expect(FakeStream.instances).toHaveLength(2);
    expect(fakes.sendBeacon).not.toHaveBeenCalled();
  });

  it('closed by an administrator: says so while it reconnects, and clears it once live', async () => {
    renderKiosk();
    act(() => FakeStream.last.emit('connected', connectedData('tok-1', 'display')));
    act(() => FakeStream.last.emit('announcement', { title: 'Lunch at noon' }, '10'));
    act(() => FakeStream.last.emit('closed', { message: 'Closed by an administrator', reason: 'admin_closed' }));
    expect(status()!.textContent).toContain('Closed by an administrator');
    // The close is not an announcement.
    expect(screen.getByTestId('kiosk-latest').textContent).toContain('Lunch at noon');
    await advance(1_000);
    expect(FakeStream.instances).toHaveLength(2);
    // Trying again: the reason stays on the screen until the kiosk is live.
    expect(status()!.textContent).toContain('Closed by an administrator');
    expect(screen.getByTestId('kiosk-retry').textContent).toContain('Trying again now');
    act(() => FakeStream.last.emit('connected', connectedData('tok-2', 'display')));
    expect(status()).toBeNull();
    expect(screen.getByTestId('kiosk').textContent).not.toContain('Closed by an administrator');
    expect(screen.getByTestId('kiosk-latest').textContent).toContain('Lunch at noon');
  });

  it('is never dark: connecting, and a lost connection, are said too', async () => {
    renderKiosk();
    expect(status()!.textContent).toContain('Connecting to the event server');
    act(() => FakeStream.last.fail('The server could not be reached (Failed to fetch)'));
    expect(status()!.textContent).toContain('Connection to the event server lost');
    expect(status()!.textContent).toContain('The server could not be reached');
    expect(screen.getByTestId('kiosk-retry')).toBeTruthy();
  });
});
