// jStat publishes no type declarations. Deno infers types from its JavaScript;
// tsc needs this. statistics.ts narrows it to the one function it calls.
declare module "jstat" {
  const jStat: unknown;
  export default jStat;
}
