import Badge from 'react-bootstrap/Badge';

export function TypeBadge({ type }: { type: string }) {
  const bg = type === 'admin' ? 'primary' : type === 'display' ? 'info' : 'secondary';
  return (
    <Badge bg={bg} text={type === 'display' ? 'dark' : undefined} className="text-capitalize">
      {type}
    </Badge>
  );
}
