import Card from 'react-bootstrap/Card';

interface Props {
  label: string;
  value: number | string | null;
  hint?: string;
  testId?: string;
  hintTestId?: string;
  hintClassName?: string;
}

export function StatCard({ label, value, hint, testId, hintTestId, hintClassName }: Props) {
  return (
    <Card className="h-100 stat-card shadow-sm">
      <Card.Body>
        <div className="text-body-secondary small text-uppercase fw-semibold">{label}</div>
        <div className="display-6 fw-semibold" data-testid={testId} aria-label={`${label}: ${value ?? 'unknown'}`}>
          {value ?? '—'}
        </div>
        {hint && (
          <div className={`small ${hintClassName ?? 'text-body-secondary'}`} data-testid={hintTestId}>
            {hint}
          </div>
        )}
      </Card.Body>
    </Card>
  );
}
