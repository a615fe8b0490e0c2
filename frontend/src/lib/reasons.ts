/** Colour and meaning of each close reason (docs/api-additions.md). */
export const CLOSE_REASON_INFO: Record<string, { bg: string; dark?: boolean; text: string }> = {
  client_closed: { bg: 'secondary', text: 'The client hung up' },
  write_failed: { bg: 'warning', dark: true, text: 'A write to the client failed' },
  disconnect_route: { bg: 'secondary', text: 'The page released it (disconnect beacon)' },
  superseded: { bg: 'info', dark: true, text: 'Replaced by a newer stream with the same client id' },
  ack_timeout: { bg: 'danger', text: 'No acknowledgement for 3 heartbeats' },
  slow_consumer: { bg: 'danger', text: 'Too slow to read its events' },
  admin_closed: { bg: 'dark', text: 'Closed by an administrator' },
  shutdown: { bg: 'secondary', text: 'The server shut down' },
};

export function reasonDescription(reason: string): string {
  return CLOSE_REASON_INFO[reason]?.text ?? reason;
}
