import Container from 'react-bootstrap/Container';
import Nav from 'react-bootstrap/Nav';
import Navbar from 'react-bootstrap/Navbar';
import { NavLink } from 'react-router';
import { LiveBadge } from './LiveBadge';

export function AppNavbar() {
  return (
    <Navbar bg="dark" data-bs-theme="dark" expand="md" className="mb-4 shadow-sm" as="header">
      <Container>
        <Navbar.Brand as={NavLink} to="/admin" end>
          <span className="brand-mark" aria-hidden="true">◉</span> sse-fcgi
        </Navbar.Brand>
        <Navbar.Toggle aria-controls="main-nav" />
        <Navbar.Collapse id="main-nav">
          <Nav className="me-auto" as="nav" aria-label="Main">
            <Nav.Link as={NavLink} to="/admin" end>
              Home
            </Nav.Link>
            <Nav.Link as={NavLink} to="/admin/monitoring">
              System Monitoring
            </Nav.Link>
            <Nav.Link as={NavLink} to="/admin/displays">
              Displays
            </Nav.Link>
          </Nav>
          <LiveBadge />
        </Navbar.Collapse>
      </Container>
    </Navbar>
  );
}
