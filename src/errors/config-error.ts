// A config that cannot be loaded or compiled. Its message names the JSON path and the reason, never
// a value (values may be secrets).
export class ConfigError extends Error {
  override name = 'ConfigError';
}
