import { createBrowserRouter, Navigate, RouterProvider } from 'react-router';
import { AdminLayout } from './components/AdminLayout';
import { DisplayKioskPage } from './pages/DisplayKioskPage';
import { DisplaysPage } from './pages/DisplaysPage';
import { HomePage } from './pages/HomePage';
import { MonitoringPage } from './pages/MonitoringPage';
import { NotFoundPage } from './pages/NotFoundPage';

// The admin layout owns the tab's admin stream, so moving between admin
// pages keeps one connection; the kiosk page owns a display stream.
const router = createBrowserRouter([
  { path: '/', element: <Navigate to="/admin" replace /> },
  {
    path: '/admin',
    element: <AdminLayout />,
    children: [
      { index: true, element: <HomePage /> },
      { path: 'monitoring', element: <MonitoringPage /> },
      { path: 'displays', element: <DisplaysPage /> },
      { path: '*', element: <NotFoundPage /> },
    ],
  },
  { path: '/display/:name', element: <DisplayKioskPage /> },
  { path: '*', element: <NotFoundPage /> },
]);

export function App() {
  return <RouterProvider router={router} />;
}
