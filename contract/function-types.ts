/** What the API says about registered functions. */

/** What the registry tells about one version of a function. */
export interface FunctionInfo {
  name: string;
  version: string;
  /** Shipped source, or an export of a bundled module. */
  kind: 'inline' | 'module';
  /** The module's entry file, for a module function. */
  file?: string;
  /** The module's export, for a module function. */
  export?: string;
  /** When this version was last registered (ms since the epoch). */
  registeredAt: number;
  /** Whether calls by name alone run this version. */
  latest: boolean;
}

/** One version in full, for `flotilla functions show`. */
export interface FunctionDetails extends FunctionInfo {
  /** The function's source, for an inline function. */
  src?: string;
  /** Names of the globals shipped with it. */
  globals: string[];
  /** How its per-lane setup is given, if it has one. */
  setup?: 'inline' | 'module';
  retryIf: boolean;
  /** Every version of the name, latest first. */
  versions: FunctionInfo[];
}
