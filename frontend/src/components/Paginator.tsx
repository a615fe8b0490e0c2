import Pagination from 'react-bootstrap/Pagination';

interface Props {
  page: number;
  pageCount: number;
  onPage: (page: number) => void;
  label: string;
}

/** Page numbers around the current one, with first/last always shown. */
function pageWindow(page: number, pageCount: number): (number | 'gap')[] {
  if (pageCount <= 9) return Array.from({ length: pageCount }, (_, i) => i + 1);
  const out: (number | 'gap')[] = [1];
  const from = Math.max(2, page - 2);
  const to = Math.min(pageCount - 1, page + 2);
  if (from > 2) out.push('gap');
  for (let p = from; p <= to; p++) out.push(p);
  if (to < pageCount - 1) out.push('gap');
  out.push(pageCount);
  return out;
}

/** Previous / page numbers / next; nothing when everything fits on one page. */
export function Paginator({ page, pageCount, onPage, label }: Props) {
  if (pageCount <= 1) return null;
  return (
    <nav aria-label={label}>
      <Pagination size="sm" className="mb-0 flex-wrap">
        <Pagination.Prev disabled={page <= 1} onClick={() => onPage(page - 1)} aria-label="Previous page" />
        {pageWindow(page, pageCount).map((p, i) =>
          p === 'gap' ? (
            <Pagination.Ellipsis key={`gap-${i}`} disabled />
          ) : (
            <Pagination.Item key={p} active={p === page} onClick={() => onPage(p)} aria-label={`Page ${p}`}>
              {p}
            </Pagination.Item>
          ),
        )}
        <Pagination.Next disabled={page >= pageCount} onClick={() => onPage(page + 1)} aria-label="Next page" />
      </Pagination>
    </nav>
  );
}

