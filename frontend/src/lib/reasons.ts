/**
 * Close reasons (the responder's codes) in plain words: a short label for
 * badges and filters, and a sentence for the hover, with the code.
 */
export const CLOSE_REASON_INFO: Record<string, { bg: string; dark?: boolean; label: string; text: string }> = {
  client_closed: { bg: 'secondary', label: 'Client went away', text: 'The client hung up (tab or browser closed, network gone)' },
  write_failed: { bg: 'warning', dark: true, label: 'Write failed', text: 'A write to the client failed' },
  disconnect_route: { bg: 'secondary', label: 'Released by the page', text: 'The page released its stream (disconnect beacon: closed, reloaded or navigated away)' },
  superseded: { bg: 'info', dark: true, label: 'Replaced', text: 'Replaced by a newer stream with the same client id or display name' },
  ack_timeout: { bg: 'danger', label: 'No acknowledgement', text: 'Stopped acknowledging heartbeats: the client is probably gone' },
  slow_consumer: { bg: 'danger', label: 'Too slow', text: 'Too slow to read its events' },
  admin_closed: { bg: 'dark', label: 'Closed by an admin', text: 'Closed by an administrator from the monitor' },
  shutdown: { bg: 'secondary', label: 'Server shut down', text: 'The server shut down' },
  node_lost: {
    bg: 'danger',
    label: 'Node lost',
    text: 'The cluster node that held it stopped answering (killed, or its host lost); the client reconnects to another node',
  },
};

/** Short plain words for a reason code (the code itself when unknown). */
export function reasonLabel(reason: string): string {
  return CLOSE_REASON_INFO[reason]?.label ?? reason;
}

/**
 * The hover text of a reason: its meaning and its code. With the number of
 * heartbeats after which the server closes a silent stream, ack_timeout says it.
 */
export function reasonDescription(reason: string, closeAfterHeartbeats?: number | null): string {
  const info = CLOSE_REASON_INFO[reason];
  if (!info) return reason;
  const text =
    reason === 'ack_timeout' && closeAfterHeartbeats
      ? `No acknowledgement for ${closeAfterHeartbeats} heartbeats: the client is probably gone`
      : info.text;
  return `${text} (${reason})`;
}
