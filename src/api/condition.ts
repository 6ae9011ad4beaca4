// Task conditions (`if:` on an action entry): `WinnerFound()`, `CandidateWon()`,
// `not X` / `!X`, `and` / `&&`, `or` / `||`, `true`, `false` and parentheses. The original evaluated
// them with antonmedv/expr; this is the subset its docs and samples use. Precedence: not > and > or.

export type Condition =
  | { kind: "call"; name: ConditionFunction }
  | { kind: "literal"; value: boolean }
  | { kind: "not"; operand: Condition }
  | { kind: "and" | "or"; left: Condition; right: Condition };

export const CONDITION_FUNCTIONS = ["WinnerFound", "CandidateWon"] as const;
export type ConditionFunction = (typeof CONDITION_FUNCTIONS)[number];

/** What the functions of a condition return for one experiment. */
export interface ConditionContext {
  winnerFound: boolean;
  candidateWon: boolean;
}

export class ConditionSyntaxError extends Error {
  override readonly name = "ConditionSyntaxError";
  /** Zero-based character offset of the problem in the expression. */
  readonly position: number;
  constructor(message: string, position: number) {
    super(message);
    this.position = position;
  }
}

type Token = { type: "word" | "(" | ")" | "and" | "or" | "not" | "end"; text: string; pos: number };

function tokenize(src: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === "(" || c === ")") {
      tokens.push({ type: c, text: c, pos: i });
      i++;
      continue;
    }
    if (src.startsWith("&&", i)) {
      tokens.push({ type: "and", text: "&&", pos: i });
      i += 2;
      continue;
    }
    if (src.startsWith("||", i)) {
      tokens.push({ type: "or", text: "||", pos: i });
      i += 2;
      continue;
    }
    const comparison = /^(==|!=|<=|>=|<|>)/.exec(src.slice(i));
    if (comparison) {
      throw new ConditionSyntaxError(
        `comparisons such as "${comparison[0]}" are not supported (position ${i + 1}); combine WinnerFound() and CandidateWon() with not, and, or`,
        i,
      );
    }
    if (c === "!") {
      tokens.push({ type: "not", text: "!", pos: i });
      i++;
      continue;
    }
    const word = /^[A-Za-z_][A-Za-z0-9_.]*/.exec(src.slice(i));
    if (!word) throw new ConditionSyntaxError(`unexpected character "${c}" at position ${i + 1}`, i);
    const text = word[0];
    const type = text === "and" ? "and" : text === "or" ? "or" : text === "not" ? "not" : "word";
    tokens.push({ type, text, pos: i });
    i += text.length;
  }
  tokens.push({ type: "end", text: "end of condition", pos: src.length });
  return tokens;
}

/** Parses a condition; throws `ConditionSyntaxError` with a one-line message. */
export function parseCondition(src: string): Condition {
  if (src.trim() === "") throw new ConditionSyntaxError("condition is empty", 0);
  const tokens = tokenize(src);
  let at = 0;
  const peek = () => tokens[at]!;
  const next = () => tokens[at++]!;
  const fail = (t: Token, expected: string): never => {
    const found = t.type === "end" ? "the end of the condition" : `"${t.text}"`;
    throw new ConditionSyntaxError(`expected ${expected} but found ${found} at position ${t.pos + 1}`, t.pos);
  };

  // `x op y op z` as ((x op y) op z), the operands parsed one precedence level down.
  const leftAssociative = (op: "and" | "or", operand: () => Condition) => (): Condition => {
    let left = operand();
    while (peek().type === op) {
      next();
      left = { kind: op, left, right: operand() };
    }
    return left;
  };
  const parseOr = leftAssociative("or", () => parseAnd());
  const parseAnd = leftAssociative("and", () => parseNot());
  const parseNot = (): Condition => {
    if (peek().type === "not") {
      next();
      return { kind: "not", operand: parseNot() };
    }
    return parsePrimary();
  };
  const parsePrimary = (): Condition => {
    const t = next();
    if (t.type === "(") {
      const inner = parseOr();
      if (peek().type !== ")") fail(peek(), '")"');
      next();
      return inner;
    }
    if (t.type !== "word") return fail(t, "WinnerFound(), CandidateWon(), true, false, not or (");
    if (t.text === "true" || t.text === "false") return { kind: "literal", value: t.text === "true" };
    const fn = CONDITION_FUNCTIONS.find((f) => f === t.text);
    if (!fn) {
      throw new ConditionSyntaxError(
        `unknown name "${t.text}" at position ${t.pos + 1} (known: ${CONDITION_FUNCTIONS.map((f) => `${f}()`).join(", ")})`,
        t.pos,
      );
    }
    if (peek().type !== "(") fail(peek(), `"(" after ${fn}`);
    next();
    if (peek().type !== ")") fail(peek(), `")" (${fn} takes no arguments)`);
    next();
    return { kind: "call", name: fn };
  };

  const tree = parseOr();
  if (peek().type !== "end") fail(peek(), "and, or or the end of the condition");
  return tree;
}

export function evaluateCondition(c: Condition, ctx: ConditionContext): boolean {
  switch (c.kind) {
    case "literal":
      return c.value;
    case "call":
      return c.name === "WinnerFound" ? ctx.winnerFound : ctx.candidateWon;
    case "not":
      return !evaluateCondition(c.operand, ctx);
    case "and":
      return evaluateCondition(c.left, ctx) && evaluateCondition(c.right, ctx);
    case "or":
      return evaluateCondition(c.left, ctx) || evaluateCondition(c.right, ctx);
  }
}
