import Container from 'react-bootstrap/Container';
import { Outlet } from 'react-router';
import { ACK_URL, ADMIN_STREAM_URL, DISCONNECT_URL } from '../config';
import { SSEProvider, tabClientId } from '../sse';
import { AppNavbar } from './AppNavbar';
import { StreamProblem } from './StreamProblem';

/** The admin stream also carries the pushed monitor (`summary`, `changes`, `resync`). */
const ADMIN_STREAM_PARAMS = { monitor: '1' };

/**
 * Every admin page renders inside this layout, so the tab keeps one admin
 * stream while the user moves between pages. The stream acknowledges pings
 * and carries this tab's client id, so a reload supersedes the old stream
 * on the server even if the disconnect beacon is lost. It is opened with
 * `?monitor=1`, so the monitor pages are pushed every change in the registry
 * on this same stream.
 */
export function AdminLayout() {
  return (
    <SSEProvider
      url={ADMIN_STREAM_URL}
      disconnectUrl={DISCONNECT_URL}
      ackUrl={ACK_URL}
      clientId={tabClientId()}
      eventTypes={['system.test_event']}
      params={ADMIN_STREAM_PARAMS}
    >
      <AppNavbar />
      <Container as="main" className="pb-5">
        <StreamProblem />
        <Outlet />
      </Container>
    </SSEProvider>
  );
}
