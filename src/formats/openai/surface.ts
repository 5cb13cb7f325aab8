// OpenAI's routes beyond chat, completions, embeddings and responses: relayed to OpenAI-format
// providers as they are (no other format has them), with the same routing, failover, rules and
// telemetry as chat. https://platform.openai.com/docs/api-reference
//
//   routedBy 'model'     the body's `model` picks the provider, as for chat (a request without one goes
//                        to the provider that owns model-less requests: README "Other OpenAI routes")
//   routedBy 'provider'  files and batches: their ids belong to one provider, so they go to one provider
//                        (the x-microgate-provider header, else routing.defaultProvider, else the only
//                        OpenAI provider), never failed over to another
//   body                 JSON, a multipart form (audio, file uploads: the file part is never parsed), or none
//   bytes                a 2xx answer may be something other than JSON (audio, a transcript as text or
//                        subtitles, a file's content): relayed as bytes with the provider's content type

export type SurfaceKind = 'moderations' | 'images' | 'speech' | 'transcriptions' | 'translations' | 'files' | 'batches';

export interface SurfaceRoute {
  /** OpenAI's path after the base URL (`/v1`), for the model-routed kinds. */
  readonly path: string;
  readonly routedBy: 'model' | 'provider';
  /**
   * Which 2xx answers are relayed as bytes: 'non-json', any whose content type is not JSON; 'content',
   * those of the `/files/{id}/content` route whatever their type, and no other (a file's content is not
   * an answer to read; every other files answer is read as JSON, its ids sealed: a JSON file shaped like
   * a FileObject read as one, or a FileObject labelled text/plain relayed, would have leaked an id).
   */
  readonly bytes: 'never' | 'non-json' | 'content';
}

export const SURFACE: Readonly<Record<SurfaceKind, SurfaceRoute>> = {
  moderations: { path: '/moderations', routedBy: 'model', bytes: 'never' },
  images: { path: '/images/generations', routedBy: 'model', bytes: 'never' },
  speech: { path: '/audio/speech', routedBy: 'model', bytes: 'non-json' },
  transcriptions: { path: '/audio/transcriptions', routedBy: 'model', bytes: 'non-json' },
  translations: { path: '/audio/translations', routedBy: 'model', bytes: 'non-json' },
  files: { path: '/files', routedBy: 'provider', bytes: 'content' },
  batches: { path: '/batches', routedBy: 'provider', bytes: 'never' },
};

export const isSurface = (kind: string): kind is SurfaceKind => Object.hasOwn(SURFACE, kind);

/** A files request for a file's content (`/files/{id}/content`), whose answer is the file's bytes. */
export const isFileContent = (subpath: string): boolean => /^\/files\/[^/?]+\/content(?:\?|$)/.test(subpath);
