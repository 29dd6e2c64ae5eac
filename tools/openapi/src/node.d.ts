// The few Node globals client.ts uses (this project does not pull in
// @types/node for them).
declare const process: {
  env: Record<string, string | undefined>;
  exitCode: number | undefined;
};
