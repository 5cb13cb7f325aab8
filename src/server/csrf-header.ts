// The header every state-changing request authenticated by the dashboard's session cookie carries
// (ui-session.ts checks it). Imports nothing, so the dashboard's browser bundle (ui/api.ts) imports the
// same constant.
export const CSRF_HEADER = 'x-microgate-csrf';
