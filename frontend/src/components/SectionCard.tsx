import type { ReactNode } from 'react';
import Card from 'react-bootstrap/Card';

interface Props {
  /** The heading's id: the section is labelled by it. */
  titleId: string;
  title: ReactNode;
  /** The heading's level: h2 for a section of the page, h3 for one inside a section. */
  titleAs?: 'h2' | 'h3';
  /** What the header shows right of the title: a summary, a count. */
  aside?: ReactNode;
  /** Classes added to the card's own (its margin). */
  className?: string;
  testId?: string;
  children?: ReactNode;
}

/** A card that is a section of the page, named by the title in its header. */
export function SectionCard({ titleId, title, titleAs: Title = 'h2', aside, className, testId, children }: Props) {
  return (
    <Card className={className ? `shadow-sm ${className}` : 'shadow-sm'} as="section" aria-labelledby={titleId} data-testid={testId}>
      <Card.Header className="d-flex flex-wrap align-items-center gap-2">
        <Title className="h6 mb-0 me-auto" id={titleId}>
          {title}
        </Title>
        {aside}
      </Card.Header>
      {children}
    </Card>
  );
}
