import { Link } from 'react-router';

export function NotFoundPage() {
  return (
    <div className="container py-5 text-center">
      <h1 className="h3">Page not found</h1>
      <p className="text-body-secondary">There is nothing at this address.</p>
      <Link to="/admin" className="btn btn-primary">
        Go to the dashboard
      </Link>
    </div>
  );
}
