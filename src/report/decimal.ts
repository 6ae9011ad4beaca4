// Rounding toward +infinity to a fixed number of decimals, done on the decimal digits rather than on
// binary floats: iter8ctl printed `inf.Dec.Round(3, RoundCeil)`, so 0.01 must print 0.010 (a float
// computation such as Math.ceil(0.01 * 1000) / 1000 gives 0.011).

const DECIMAL_TEXT = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

/**
 * Rounds a decimal number written as text (`"310.319302313"`, `"1e-7"`, `"-0.0015"`, or the
 * shortest round-trip form of a JS number) up to `places` decimals and prints exactly that many.
 */
export function ceilDecimalText(text: string, places: number): string {
  if (!Number.isInteger(places) || places < 0) throw new Error(`decimal places must be >= 0, got ${places}`);
  const m = DECIMAL_TEXT.exec(text.trim());
  if (!m || (m[2] === "" && (m[3] ?? "") === ""))
    throw new Error(`not a decimal number: ${JSON.stringify(text)}`);
  const negative = m[1] === "-";
  const intDigits = m[2] ?? "";
  const fracDigits = m[3] ?? "";
  const exponent = Number(m[4] ?? "0");
  // value = digits * 10^(exponent - fracDigits.length), with digits an integer.
  const digits = BigInt((intDigits + fracDigits).replace(/^0+(?=\d)/, "") || "0");
  const scale = exponent - fracDigits.length; // power of ten of the last digit
  let scaled: bigint; // the value times 10^places, rounded toward +infinity
  const shift = scale + places;
  if (shift >= 0) {
    scaled = digits * 10n ** BigInt(shift);
    if (negative) scaled = -scaled;
  } else {
    const divisor = 10n ** BigInt(-shift);
    const quotient = digits / divisor;
    const hasRemainder = digits % divisor !== 0n;
    // Positive values with a remainder round up; negative ones truncate toward zero (= up).
    scaled = negative ? -quotient : quotient + (hasRemainder ? 1n : 0n);
  }
  const sign = scaled < 0n ? "-" : "";
  const abs = (scaled < 0n ? -scaled : scaled).toString().padStart(places + 1, "0");
  if (places === 0) return sign + abs;
  return `${sign}${abs.slice(0, -places)}.${abs.slice(-places)}`;
}
