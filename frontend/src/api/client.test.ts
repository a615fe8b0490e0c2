import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiError, fetchStats, sendTestEvent } from './client';

function answer(status: number, body: unknown, contentType = 'application/json') {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  vi.stubGlobal('fetch', vi.fn(() => Promise.resolve(new Response(text, { status, headers: { 'Content-Type': contentType } }))));
}

afterEach(() => vi.unstubAllGlobals());

describe('apiRequest', () => {
  it('unwraps data of a success envelope', async () => {
    answer(200, { success: true, data: { total_connections: 3 }, message: 'ok' });
    await expect(fetchStats()).resolves.toEqual({ total_connections: 3 });
    expect(vi.mocked(fetch).mock.calls[0][0]).toBe('/api/v1/events/stats');
  });

  it("throws the server's message and code from an error envelope", async () => {
    answer(401, {
      success: false,
      error: 'Authentication required',
      message: 'Authentication required',
      errors: ['Authentication required'],
      error_info: { code: 'AUTHENTICATION_REQUIRED', message: 'Authentication required' },
    });
    const err = await fetchStats().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ message: 'Authentication required', status: 401, code: 'AUTHENTICATION_REQUIRED' });
  });

  it('names the HTTP status when the answer is not JSON', async () => {
    answer(502, '<html>Bad Gateway</html>', 'text/html');
    await expect(fetchStats()).rejects.toMatchObject({ status: 502, message: expect.stringContaining('HTTP 502') });
  });

  it('reports a network failure', async () => {
    vi.stubGlobal('fetch', vi.fn(() => Promise.reject(new TypeError('Failed to fetch'))));
    await expect(fetchStats()).rejects.toMatchObject({ status: 0, message: 'Network error: Failed to fetch' });
  });

  it('posts JSON to the test route', async () => {
    answer(200, { success: true, data: { event_type: 'system.test_event', message: 'hi', connections_notified: 1, broadcast_at: 'x' } });
    await sendTestEvent({ type: 'test_event', message: 'hi' });
    const [url, init] = vi.mocked(fetch).mock.calls[0];
    expect(url).toBe('/api/v1/events/test');
    expect(init).toMatchObject({ method: 'POST', body: '{"type":"test_event","message":"hi"}' });
    expect((init?.headers as Record<string, string>)['Content-Type']).toBe('application/json');
  });
});
