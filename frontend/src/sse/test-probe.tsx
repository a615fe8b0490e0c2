import { useSSE, type UseSSEResult } from './useSSE';

/** Renders nothing; hands the tab's useSSE() result to the test on every render. */
export function Probe({ onApi }: { onApi: (api: UseSSEResult) => void }) {
  onApi(useSSE());
  return null;
}
