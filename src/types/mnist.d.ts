declare module 'mnist' {
  interface Digit {
    readonly id: number;
    readonly length: number;
    readonly raw: ArrayLike<number>;
    get(index: number): number[];
  }
  const digits: Digit[] & Record<number, Digit>;
  export default digits;
}
