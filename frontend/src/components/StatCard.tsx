import Card from 'react-bootstrap/Card';

export function StatCard({ label, value, hint, testId }: { label: string; value: number | string | null; hint?: string; testId?: string }) {
  return (
    <Card className="h-100 stat-card shadow-sm">
      <Card.Body>
        <div className="text-body-secondary small text-uppercase fw-semibold">{label}</div>
        <div className="display-6 fw-semibold" data-testid={testId} aria-label={`${label}: ${value ?? 'unknown'}`}>
          {value ?? '—'}
        </div>
        {hint && <div className="text-body-secondary small">{hint}</div>}
      </Card.Body>
    </Card>
  );
}
