/// <reference types="vite/client" />

interface ImportMetaEnv {
  /** Route prefix of the sse-fcgi API, e.g. "/api/v1/events" (the default). */
  readonly VITE_API_PREFIX?: string;
  /** Comma-separated event names the kiosk page listens to besides the built-in ones. */
  readonly VITE_DISPLAY_EVENTS?: string;
}

interface ImportMeta {
  readonly env: ImportMetaEnv;
}
