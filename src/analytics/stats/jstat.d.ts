// The few jStat functions the stats modules use (jstat ships no type declarations).
declare module "jstat" {
  interface JStat {
    beta: { inv(p: number, a: number, b: number): number; cdf(x: number, a: number, b: number): number };
    normal: {
      inv(p: number, mean: number, sd: number): number;
      cdf(x: number, mean: number, sd: number): number;
    };
  }
  const mod: { jStat: JStat };
  export default mod;
}
