// The labextension builder bundles `.svg` imports as their source text.
declare module '*.svg' {
  const source: string;
  export default source;
}
