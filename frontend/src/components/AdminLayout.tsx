import Container from 'react-bootstrap/Container';
import { Outlet } from 'react-router';
import { ADMIN_STREAM_URL, DISCONNECT_URL } from '../config';
import { SSEProvider } from '../sse';
import { AppNavbar } from './AppNavbar';

/**
 * Every admin page renders inside this layout, so the tab keeps one admin
 * stream while the user moves between pages.
 */
export function AdminLayout() {
  return (
    <SSEProvider url={ADMIN_STREAM_URL} disconnectUrl={DISCONNECT_URL} eventTypes={['system.test_event']}>
      <AppNavbar />
      <Container as="main" className="pb-5">
        <Outlet />
      </Container>
    </SSEProvider>
  );
}
